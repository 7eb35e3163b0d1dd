// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// SwiftPM builds a C target only from its sources: this one gives the CZstd module (include/czstd.h, types only)
// one. Nothing here links against zstd.
#include "czstd.h"
