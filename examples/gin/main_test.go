package main

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authport/authport/examples/internal/guardtest"
)

func TestGuards(t *testing.T) {
	gin.SetMode(gin.TestMode)
	guardtest.Run(t, routes)
}
