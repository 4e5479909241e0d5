#pragma once
#include "services/common/publisher.h"
