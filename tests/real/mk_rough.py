# SPDX-License-Identifier: Apache-2.0
def zeroheap(): pass
def threads(): pass
def bare(): pass
