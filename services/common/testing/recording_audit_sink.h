#pragma once
#include "services/common/audit.h"
