# SPDX-License-Identifier: Apache-2.0
def pair(): pass
def predump(): pass
