package otelauth_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/authport/authport"
	"github.com/authport/authport/otelauth"
)

// ExampleNew wires otelauth into authport's HTTP layer. Here the meter is
// read by hand; a program would use the global providers (Config{}) set up
// with its exporters.
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	hooks, err := otelauth.New(otelauth.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		log.Fatal(err)
	}
	_ = authport.Config{Hooks: hooks} // then authport.NewWeb(auth, cfg)

	// What Web reports when a user signs in:
	hooks.OnEvent(context.Background(), authport.Event{Type: authport.EventSignIn, Provider: "diy", UserID: "u_1"})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value)
		}
	}
	// Output: authport.sign_ins authport.outcome=ok,authport.provider=diy 1
}
