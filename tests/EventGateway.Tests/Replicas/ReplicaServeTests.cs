using System.Net;
using System.Text;
using Npgsql;
using Shouldly;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Replicas;

/// <summary>`egw serve --store postgres://...` as a real process: what a replica refuses to start with, and 503 while its database is gone.</summary>
public sealed class ReplicaServeTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_shared_store_and_bus_refuse_the_local_artifact_repository_naming_the_fix()
    {
        var dir = Directory.CreateTempSubdirectory("egw-replica-cli-").FullName;
        var url = await server.NewDatabaseAsync();

        var (code, _, err) = await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "b"), "--store", url, "--event-bus", "nats://127.0.0.1:4222");
        code.ShouldNotBe(0);
        err.ShouldContain("a local artifact repository keeps a step's outputs in one replica's data directory, where the others cannot read them: give an S3 repository with --artifact-repository FILE");
        err.ShouldNotContain("   at ");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_replica_cut_off_from_its_database_answers_503_on_webhooks_and_the_api_and_takes_events_again_when_it_is_back()
    {
        await using var nats = await NatsServer.StartAsync();
        var url = await server.NewDatabaseAsync();
        var database = url.Split('/')[^1];
        await (await PostgresDatabase.OpenAsync(url)).DisposeAsync();
        await using (var c = new NpgsqlConnection(server.ConnectionString(database)))
        {
            await c.OpenAsync();
            // The replica connects as a role of its own, so the test can cut it off while the server runs on.
            await using var cmd = new NpgsqlCommand("CREATE ROLE replica LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO replica", c);
            await cmd.ExecuteNonQueryAsync();
        }
        var dir = Directory.CreateTempSubdirectory("egw-replica-503-").FullName;
        var repo = Path.Combine(dir, "repository.yaml");
        File.WriteAllText(repo, "s3: {endpoint: 127.0.0.1:9, bucket: artifacts, insecure: true}\n");
        var manifests = Directory.CreateDirectory(Path.Combine(dir, "manifests")).FullName;
        var port = EventTestHost.FreePort();
        File.WriteAllText(Path.Combine(manifests, "hook.yaml"), $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hook}
            spec:
              webhook:
                push: {port: "{{port}}", endpoint: /push, method: POST}
            """);
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", manifests, "--event-bus", nats.Url, "--artifact-repository", repo,
            "--store", $"postgres://replica@127.0.0.1:{server.Port}/{database}?connect_timeout=2", "--lease-ttl", "3s", "--replica-id", "r1"]);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var api = serve.CreateClient();
        async Task<HttpStatusCode?> Post()
        {
            try
            {
                using var resp = await http.PostAsync($"http://127.0.0.1:{port}/push", new StringContent("""{"n":1}""", Encoding.UTF8, "application/json"));
                return resp.StatusCode;
            }
            catch (HttpRequestException) { return null; }
        }
        await Eventually.Get(async () => await Post() == HttpStatusCode.OK ? "ok" : null, "the webhook to take an event");

        await using (var c = new NpgsqlConnection(server.ConnectionString(database)))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("ALTER ROLE replica NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'replica'", c);
            await cmd.ExecuteNonQueryAsync();
        }
        await Eventually.Get(async () => await Post() == HttpStatusCode.ServiceUnavailable ? "refused" : null, "the webhook to refuse with 503");
        using (var resp = await http.PostAsync($"http://127.0.0.1:{port}/push", new StringContent("""{"n":2}""", Encoding.UTF8, "application/json")))
        {
            resp.Headers.RetryAfter.ShouldNotBeNull();
            (await resp.Content.ReadAsStringAsync()).ShouldContain("has not reached the shared database");
        }
        using (var resp = await api.GetAsync("api/v1/workflows/default"))
        {
            resp.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await resp.Content.ReadAsStringAsync()).ShouldContain("has not reached the shared database");
        }
        using (var live = await api.GetAsync("healthz")) live.StatusCode.ShouldBe(HttpStatusCode.OK, "alive, only not ready");

        await using (var c = new NpgsqlConnection(server.ConnectionString(database)))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("ALTER ROLE replica LOGIN", c);
            await cmd.ExecuteNonQueryAsync();
        }
        await Eventually.Get(async () => await Post() == HttpStatusCode.OK ? "ok" : null, "the webhook to take events again");
        using (var resp = await api.GetAsync("api/v1/workflows/default")) resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        Directory.Delete(dir, recursive: true);
    }
}
