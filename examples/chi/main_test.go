package main

import (
	"testing"

	"github.com/authport/authport/examples/internal/guardtest"
)

func TestGuards(t *testing.T) { guardtest.Run(t, routes) }
