// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// SwiftPM builds a C target only from its sources: this one exists so the CStreamKit module (the headers in
// include/) has one. It also checks that streamkit.h compiles as C on its own.
#include "streamkit.h"
