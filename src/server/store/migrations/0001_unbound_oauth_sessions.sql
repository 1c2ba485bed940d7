ALTER TABLE "oauth_sessions" ALTER COLUMN "connection_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "oauth_sessions" ADD COLUMN "connector" text;--> statement-breakpoint
UPDATE "oauth_sessions" SET "connector" = "connections"."connector" FROM "connections" WHERE "connections"."id" = "oauth_sessions"."connection_id";--> statement-breakpoint
ALTER TABLE "oauth_sessions" ALTER COLUMN "connector" SET NOT NULL;
