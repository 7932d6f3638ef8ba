package cluster

import (
	"fmt"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// The schemas temporal-sql-tool applies, embedded in the server module.
const (
	persistenceSchema = "postgresql/v12/temporal"
	visibilitySchema  = "postgresql/v12/visibility"
)

// createSchemas creates the cluster's two databases and applies Temporal's
// own PostgreSQL schemas to them, as `temporal-sql-tool create-database`,
// `setup-schema -v 0.0` and `update-schema` do for a production cluster.
func createSchemas(p PostgresSpec, maintenanceDB string) error {
	logger := log.NewNoopLogger()
	for _, db := range []struct{ name, schema string }{{p.Database, persistenceSchema}, {p.Visibility, visibilitySchema}} {
		if err := sqltool.DoCreateDatabase(p.sql(db.name, 2), maintenanceDB, logger); err != nil {
			return fmt.Errorf("create database %s: %w", db.name, err)
		}
		conn, err := sqltool.NewConnection(p.sql(db.name, 2), logger)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", db.name, err)
		}
		err = schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run()
		if err == nil {
			err = schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: db.name, SchemaName: db.schema}, logger).Run()
		}
		conn.Close()
		if err != nil {
			return fmt.Errorf("apply the %s schema to %s: %w", db.schema, db.name, err)
		}
	}
	return nil
}
