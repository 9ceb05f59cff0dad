package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/scimd/scimd/reconcile/rules"
)

// configFlag adds --config, the connector configuration file, defaulting
// to SCIMD_CONFIG.
func configFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("config", e.getenv("SCIMD_CONFIG"),
		"connector configuration: a YAML file of mapping rules per connector (env SCIMD_CONFIG; examples in schemas/examples)")
}

// loadConfig reads and checks the connector configuration file; "" means
// none (every connector gets the defaults). A file with problems is a
// [*rules.Error] listing each of them.
func loadConfig(path string) (*rules.Config, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connector configuration: %w", err)
	}
	return rules.Load(path, data)
}
