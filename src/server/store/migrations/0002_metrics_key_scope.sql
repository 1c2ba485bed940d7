ALTER TABLE "api_keys" ADD COLUMN "scope" text DEFAULT 'project' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_scope_check" CHECK (scope in ('project', 'metrics'));