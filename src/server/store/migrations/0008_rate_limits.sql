CREATE TABLE "rate_limit_overrides" (
	"project_id" text NOT NULL,
	"connector" text NOT NULL,
	"limits" jsonb NOT NULL,
	"max_wait_ms" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rate_limit_overrides_project_id_connector_pk" PRIMARY KEY("project_id","connector")
);
--> statement-breakpoint
CREATE TABLE "rate_limit_state" (
	"key" text PRIMARY KEY NOT NULL,
	"tat" double precision DEFAULT 0 NOT NULL,
	"paused_until" double precision DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rate_limit_overrides" ADD CONSTRAINT "rate_limit_overrides_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;