CREATE TABLE "provider_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"connector" text NOT NULL,
	"subscription_id" text NOT NULL,
	"resource" text NOT NULL,
	"client_state_encrypted" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "provider_account_id" text;--> statement-breakpoint
ALTER TABLE "oauth_apps" ADD COLUMN "webhook_secret_encrypted" text;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "provider_subscriptions" ADD CONSTRAINT "provider_subscriptions_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_subscriptions" ADD CONSTRAINT "provider_subscriptions_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "provider_subscriptions_connector_subscription_unique" ON "provider_subscriptions" USING btree ("connector","subscription_id");--> statement-breakpoint
CREATE INDEX "provider_subscriptions_expires_idx" ON "provider_subscriptions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "provider_subscriptions_connection_idx" ON "provider_subscriptions" USING btree ("project_id","connection_id");--> statement-breakpoint
CREATE INDEX "connections_connector_identity_idx" ON "connections" USING btree ("connector","account_identity");--> statement-breakpoint
CREATE INDEX "connections_connector_account_idx" ON "connections" USING btree ("connector","provider_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_events_project_dedupe_unique" ON "webhook_events" USING btree ("project_id","dedupe_key");