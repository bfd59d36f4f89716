# SPDX-License-Identifier: Apache-2.0
def redis(): pass
def nginx(): pass
def python(): pass
def node(): pass
