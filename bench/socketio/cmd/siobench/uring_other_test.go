//go:build !linux

package main

import "errors"

func ioUringWorks() error { return errors.New("io_uring is Linux's") }
