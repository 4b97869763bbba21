"""Puts the SDK (sdk/python/src) on the path, as build.sh does for a component."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
