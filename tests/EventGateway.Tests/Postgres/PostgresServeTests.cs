using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Shouldly;
using EventGateway.Model;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Store;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Postgres;

/// <summary>`egw serve --store postgres://...` and `egw store copy` through the real binary against a real PostgreSQL.</summary>
public sealed class PostgresServeTests
{
    private static StringContent Submit(string name) => ServeProcess.Json("""
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME", "labels": {"app": "pg"}},
          "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "debian", "command": ["true"]}}]}}}
        """.Replace("NAME", name, StringComparison.Ordinal));

    [Fact]
    public async Task A_workflow_submitted_to_a_server_on_postgres_runs_is_stored_there_and_a_lost_database_answers_503()
    {
        await using var pg = await PostgresServer.StartAsync();
        var url = await pg.NewDatabaseAsync();
        await using var serve = await ServeProcess.StartAsync(extra: ["--store", url]);
        using var http = serve.CreateClient();

        (await http.PostAsync("api/v1/workflows/default", Submit("on-pg"))).EnsureSuccessStatusCode();
        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/on-pg", EventGateway.Model.Manifests.Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the workflow to complete", TimeSpan.FromMinutes(2));
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        // It is in PostgreSQL, as the server last wrote it; the data directory holds no store of its own.
        await using (var db = await PostgresDatabase.OpenAsync(url))
        await using (var store = await PostgresResourceStore.OpenAsync(db))
            (await store.GetAsync<Workflow>("default", "on-pg")).ShouldNotBeNull().Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        foreach (var file in new[] { "egw.db", "archive.db", "sensors.db" })
            File.Exists(Path.Combine(serve.DataDir, file)).ShouldBeFalse(file);

        // PostgreSQL goes away: the API says so with a 503 (retry later), never a 500, and readiness fails.
        await pg.DisposeAsync();
        var r = await http.GetAsync("api/v1/workflows/default");
        var body = await r.Content.ReadAsStringAsync();
        r.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
        JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!.ShouldContain("PostgreSQL does not answer");
        var ready = await http.GetAsync("readyz");
        ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadAsStringAsync()).ShouldContain("PostgreSQL does not answer");
    }

    [Fact]
    public async Task A_server_pointed_at_a_database_that_does_not_answer_refuses_to_start_naming_it_without_its_password()
    {
        var (code, _, err) = await CliTests.Egw("serve", "--port", ServeProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data-dir", Directory.CreateTempSubdirectory("egw-serve-").FullName, "--store", $"postgres://egw:hunter2@127.0.0.1:{ServeProcess.FreePort()}/egw?connect_timeout=2");
        code.ShouldNotBe(0);
        err.ShouldContain("does not answer");
        err.ShouldContain("egw:***@127.0.0.1");
        err.ShouldNotContain("hunter2");
    }

    [Fact]
    public async Task Store_copy_moves_resources_and_the_archive_to_postgres_and_back()
    {
        await using var pg = await PostgresServer.StartAsync();
        var url = await pg.NewDatabaseAsync();
        var from = Directory.CreateTempSubdirectory("egw-copy-from-").FullName;
        var back = Directory.CreateTempSubdirectory("egw-copy-back-").FullName;
        Workflow wf;
        using (var store = new SqliteResourceStore(Path.Combine(from, "egw.db")))
        using (var archive = new SqliteWorkflowArchive(Path.Combine(from, "archive.db")))
        {
            await store.CreateAsync(new ConfigMap { Kind = "ConfigMap", ApiVersion = "v1", Metadata = new ObjectMeta { Name = "settings", Namespace = "team-a" }, Data = new() { ["k"] = "v" } });
            wf = await store.CreateAsync(new Workflow
            {
                Kind = "Workflow", ApiVersion = Resources.ArgoApiVersion, Metadata = new ObjectMeta { Name = "done" },
                Spec = new WorkflowSpec { Entrypoint = "main" }, Status = new WorkflowStatus { Phase = WorkflowPhase.Succeeded },
            });
            await store.CreateAsync(new ClusterWorkflowTemplate { Kind = "ClusterWorkflowTemplate", ApiVersion = Resources.ArgoApiVersion, Metadata = new ObjectMeta { Name = "shared" } });
            await archive.ArchiveAsync(new Workflow { Kind = "Workflow", ApiVersion = Resources.ArgoApiVersion, Metadata = new ObjectMeta { Name = "old", Namespace = "default", Uid = "uid-old" }, Status = new WorkflowStatus { Phase = WorkflowPhase.Failed } });
        }

        var (code, stdout, err) = await CliTests.Egw("store", "copy", "--from", from, "--to", url);
        code.ShouldBe(0, err);
        stdout.ShouldContain("copied 3 resource(s) and 1 archived workflow(s)");
        await using (var db = await PostgresDatabase.OpenAsync(url))
        await using (var store = await PostgresResourceStore.OpenAsync(db))
        {
            var copied = (await store.GetAsync<Workflow>("default", "done")).ShouldNotBeNull();
            (copied.Metadata.Uid, copied.Metadata.CreationTimestamp, copied.Status!.Phase).ShouldBe((wf.Metadata.Uid, wf.Metadata.CreationTimestamp, WorkflowPhase.Succeeded));
            (await store.GetAsync<ConfigMap>("team-a", "settings")).ShouldNotBeNull().Data!["k"].ShouldBe("v");
            (await store.GetAsync<ClusterWorkflowTemplate>("", "shared")).ShouldNotBeNull();
            (await new PostgresWorkflowArchive(db).GetAsync("uid-old")).ShouldNotBeNull().Status!.Phase.ShouldBe(WorkflowPhase.Failed);
            // Writes after the copy continue the destination's versions.
            (await store.CreateAsync(new ConfigMap { Kind = "ConfigMap", ApiVersion = "v1", Metadata = new ObjectMeta { Name = "after" } })).Metadata.ResourceVersion.ShouldBe("4");
        }

        // A destination that holds something is refused, and left as it was.
        (code, _, err) = await CliTests.Egw("store", "copy", "--from", from, "--to", url);
        code.ShouldBe(2);
        err.ShouldContain("is not empty: it holds 4 resource(s) and 1 archived workflow(s)");
        err.ShouldContain("--overwrite");

        // Back to a fresh data directory: everything the database holds now.
        (code, stdout, err) = await CliTests.Egw("store", "copy", "--from", url, "--to", back);
        code.ShouldBe(0, err);
        stdout.ShouldContain("copied 4 resource(s) and 1 archived workflow(s)");
        using (var store = new SqliteResourceStore(Path.Combine(back, "egw.db")))
        using (var archive = new SqliteWorkflowArchive(Path.Combine(back, "archive.db")))
        {
            (await store.GetAsync<Workflow>("default", "done")).ShouldNotBeNull().Metadata.Uid.ShouldBe(wf.Metadata.Uid);
            (await store.GetAsync<ConfigMap>("default", "after")).ShouldNotBeNull();
            (await archive.ContainsAsync("uid-old")).ShouldBeTrue();
        }

        // --overwrite replaces: the original directory over the database drops what only the database had.
        (code, _, err) = await CliTests.Egw("store", "copy", "--from", from, "--to", url, "--overwrite");
        code.ShouldBe(0, err);
        await using (var db = await PostgresDatabase.OpenAsync(url))
        await using (var store = await PostgresResourceStore.OpenAsync(db))
        {
            (await store.GetAsync<ConfigMap>("default", "after")).ShouldBeNull();
            (await store.GetAsync<Workflow>("default", "done")).ShouldNotBeNull();
        }

        // A source that is no store is named.
        (code, _, err) = await CliTests.Egw("store", "copy", "--from", Path.Combine(from, "nowhere"), "--to", back);
        code.ShouldBe(2);
        err.ShouldContain("no egw store there");
        Directory.Delete(from, recursive: true);
        Directory.Delete(back, recursive: true);
    }

    [Fact]
    public async Task A_sensor_of_a_server_on_postgres_fires_once_and_keeps_its_state_there()
    {
        await using var pg = await PostgresServer.StartAsync();
        var url = await pg.NewDatabaseAsync();
        var port = ServeProcess.FreePort();
        var manifests = Directory.CreateTempSubdirectory("egw-manifests-").FullName;
        File.WriteAllText(Path.Combine(manifests, "ci.yaml"), """
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks}
            spec:
              webhook:
                push: {port: "PORT", endpoint: /push, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: ci}
            spec:
              dependencies:
                - {name: push, eventSourceName: hooks, eventName: push}
              triggers:
                - template:
                    name: run-ci
                    argoWorkflow:
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: ci-}
                          spec:
                            entrypoint: main
                            templates:
                              - name: main
                                container: {image: debian, command: ["true"]}
            """.Replace("PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        await using var serve = await ServeProcess.StartAsync(extra: ["--store", url, "--manifests", manifests]);
        using var http = serve.CreateClient();
        using var hook = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.Get(async () =>
        {
            try { return (await hook.PostAsync($"http://127.0.0.1:{port}/push", ServeProcess.Json("""{"n":1}"""))).IsSuccessStatusCode ? "ok" : null; }
            catch (HttpRequestException) { return null; } // the listener is not up yet
        }, "the webhook to take the event", TimeSpan.FromSeconds(60));

        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<WorkflowListPage>("api/v1/workflows/default", EventGateway.Model.Manifests.Json.Lenient) is { Items: [{ Status.IsCompleted: true } w] } ? w : null,
            "the sensor's workflow to complete", TimeSpan.FromMinutes(2));
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        // The sensor's pass is in PostgreSQL: its checkpoint and its decision, once.
        await using var c = new NpgsqlConnection(pg.ConnectionString(url.Split('/')[^1]));
        await c.OpenAsync();
        await using (var checkpoint = new NpgsqlCommand("SELECT seq FROM egw_sensor_checkpoints WHERE sensor = 'default/ci'", c))
            ((long)(await checkpoint.ExecuteScalarAsync())!).ShouldBeGreaterThan(0);
        await using (var triggered = new NpgsqlCommand("SELECT count(*) FROM egw_sensor_decisions WHERE sensor = 'default/ci' AND outcome = 'triggered'", c))
            ((long)(await triggered.ExecuteScalarAsync())!).ShouldBe(1);
        File.Exists(Path.Combine(serve.DataDir, "sensors.db")).ShouldBeFalse();
        Directory.Delete(manifests, recursive: true);
    }

    private sealed record WorkflowListPage(List<Workflow> Items);
}
