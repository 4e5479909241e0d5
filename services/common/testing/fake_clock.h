#pragma once
#include "services/common/clock.h"
