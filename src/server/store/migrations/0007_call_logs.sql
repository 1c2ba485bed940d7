CREATE TABLE "call_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"project_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"connector" text NOT NULL,
	"connector_version" integer,
	"kind" text NOT NULL,
	"endpoint" text,
	"method" text,
	"path" text,
	"status" integer,
	"duration_ms" integer NOT NULL,
	"bytes_sent" bigint,
	"bytes_received" bigint,
	"retries" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"request_id" text NOT NULL,
	CONSTRAINT "call_logs_kind_check" CHECK (kind in ('execute', 'proxy', 'mcp'))
);
--> statement-breakpoint
CREATE INDEX "call_logs_project_idx" ON "call_logs" USING btree ("project_id","id");--> statement-breakpoint
CREATE INDEX "call_logs_connection_idx" ON "call_logs" USING btree ("project_id","connection_id","id");--> statement-breakpoint
CREATE INDEX "call_logs_at_idx" ON "call_logs" USING btree ("at");