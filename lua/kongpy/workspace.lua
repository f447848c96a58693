-- The one workspace kongpy has: Kong OSS's implicit `default` workspace.
-- Kong creates its row with a random id; kongpy has no row, so the id is
-- derived as a declarative file derives ids (UUIDv5 of the namespace, the
-- table `workspaces` and the name `default`) and is the same on every node.
-- The log object (`workspace`, `workspace_name`), kong.default_workspace and
-- the metrics' `workspace` labels read it from here.
return {
    id = "cfc6baef-994b-5511-a3b4-ce121797b8ec",
    name = "default",
}
