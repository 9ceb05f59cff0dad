package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/scimd/scimd/reconcile/rules"
)

const configUsage = "configuration file: YAML with server, database, limits, smtp, requestLog, imports and tenants (the connectors) sections (env SCIMD_CONFIG; examples in schemas/examples)"

// configFlag adds --config, the connector configuration file, defaulting
// to SCIMD_CONFIG.
func configFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("config", e.getenv(configEnv), configUsage)
}

// loadConfig reads and checks the connector configuration: the tenants
// section of the configuration file; "" means none (every connector gets
// the defaults). The file's server sections are left to serve, but an
// unknown section or key is a problem here too. A file with problems is a
// [*rules.Error] listing each of them.
func loadConfig(path string) (*rules.Config, error) {
	if path == "" {
		return nil, nil
	}
	_, cfg, err := loadFile(path)
	return cfg, err
}

// loadFile reads the configuration file: where each server key is set
// in it (nil if it is no YAML), and its connector configuration. Layout
// problems and the tenants section's are one [*rules.Error].
func loadFile(path string) (map[string]source, *rules.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration file: %w", err)
	}
	positions, tenants, problems := scanFile(path, data)
	cfg, err := rules.Load(path, tenants)
	var invalid *rules.Error
	switch {
	case errors.As(err, &invalid):
		problems = append(problems, invalid.Problems...)
	case err != nil:
		return nil, nil, err
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b rules.Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return positions, nil, &rules.Error{Problems: problems}
	}
	return positions, cfg, nil
}
