using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// `--max-processes` over three real `egw serve` replicas sharing a PostgreSQL: never more steps running at once over
/// all of them than the cap, the others Pending saying why; kill -9 of a replica holding places (its steps with it)
/// gives them to the others at the takeover, and every workflow completes.
/// </summary>
public sealed class ProcessCapServeTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const int Cap = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    private static string Workflow(string name, string shared) => """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME"},
          "spec": {"entrypoint": "main", "templates": [{"name": "main", "retryStrategy": {"limit": 2, "retryPolicy": "Always"},
            "script": {"image": "busybox", "command": ["sh"], "source":
              "echo \"start {{pod.name}} $(date +%s%N)\" >> SHARED/slots\nwhile [ ! -e SHARED/go ]; do sleep 0.05; done\necho \"end {{pod.name}} $(date +%s%N)\" >> SHARED/slots\n"}}]}}}
        """.Replace("NAME", name).Replace("SHARED", shared);

    [Fact]
    public async Task Three_replicas_never_run_more_steps_than_the_cap_and_a_killed_replicas_places_go_to_the_others()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var s3 = await S3Server.StartAsync("artifacts");
        var url = await server.NewDatabaseAsync();
        await (await PostgresDatabase.OpenAsync(url)).DisposeAsync();
        var dir = Directory.CreateTempSubdirectory("egw-cap-").FullName;
        var shared = Directory.CreateDirectory(Path.Combine(dir, "shared")).FullName;
        var repo = Path.Combine(dir, "repository.yaml");
        File.WriteAllText(repo, $"s3: {{endpoint: {s3.Endpoint}, bucket: artifacts, insecure: true}}\n");
        var replicas = new List<(string Id, ServeProcess Serve)>();
        var dead = new ConcurrentDictionary<string, bool>();
        try
        {
            foreach (var i in new[] { 1, 2, 3 })
                replicas.Add(($"r{i}", await ServeProcess.StartAsync(extra: ["--event-bus", nats.Url, "--store", url, "--artifact-repository", repo,
                    "--no-sandbox", "--replica-id", $"r{i}", "--lease-ttl", "3s", "--max-processes", $"{Cap}", "--max-processes-per-replica", "8"])));

            // Three workflows in shards of each replica, once the shards are shared out.
            var shards = await Eventually.Get(async () =>
            {
                var held = (await ReplicaCrashTestsLeases(url)).Where(l => l.Name.StartsWith(WorkflowShards.LeasePrefix, StringComparison.Ordinal))
                    .ToDictionary(l => int.Parse(l.Name[WorkflowShards.LeasePrefix.Length..], System.Globalization.CultureInfo.InvariantCulture), l => l.Holder);
                return held.Values.Distinct().Count() == 3 ? held : null;
            }, "every replica to hold workflow shards", Patience);
            var names = replicas.SelectMany(r => Enumerable.Range(0, 1000).Select(n => $"cap-{n}")
                .Where(n => shards.GetValueOrDefault(WorkflowShards.Of("default", n)) == r.Id).Take(3)).ToList();
            names.Count.ShouldBe(9);
            using var api = replicas[0].Serve.CreateClient();
            foreach (var name in names)
                (await api.PostAsync("api/v1/workflows/default", ServeProcess.Json(Workflow(name, shared)))).EnsureSuccessStatusCode();

            // The cap's steps run; the other seven wait Pending, saying why, on whichever replica owns them.
            var message = $"Waiting for a process slot: all {Cap} of --max-processes are running across replicas";
            await Eventually.Get(async () =>
            {
                var pods = await PodsAsync(api);
                return pods.Count(n => n["phase"]?.ToString() == "Running") == Cap
                    && pods.Count(n => n["phase"]?.ToString() == "Pending" && n["message"]?.ToString() == message) == names.Count - Cap ? "yes" : null;
            }, $"{Cap} steps running and the others waiting for a place", Patience);
            (await File.ReadAllLinesAsync(Path.Combine(shared, "slots"))).Length.ShouldBe(Cap, "the waiting steps' processes never started");

            // kill -9 a replica that holds places, with its steps: the takeover of its shards gives them to the others.
            var holders = await ClaimantsAsync(url, "held");
            var victim = replicas.First(r => holders.Contains(r.Id));
            ReplicaCrashTests.KillMachine(victim.Serve, dead, victim.Id);
            var survivor = replicas.First(r => !dead.ContainsKey(r.Id));
            using var survivorApi = survivor.Serve.CreateClient();
            await Eventually.Get(async () => (await PodsAsync(survivorApi)).Any(n => n["message"]?.ToString() == $"its replica {victim.Id} stopped: the step's process was lost with it") ? "yes" : null,
                "the victim's running step to end as lost on the replica taking it over", Patience);
            await File.WriteAllTextAsync(Path.Combine(shared, "go"), "");

            var workflows = await Eventually.Get(async () =>
            {
                var items = JsonNode.Parse(await survivorApi.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray();
                return items.Count == names.Count && items.All(w => w!["status"]?["phase"]?.ToString() is "Succeeded" or "Failed" or "Error") ? items : null;
            }, "every workflow to complete", Patience);
            workflows.Where(w => w!["status"]!["phase"]!.ToString() != "Succeeded").Select(w => $"{w!["metadata"]!["name"]}: {w["status"]!["message"]}").ShouldBeEmpty();
            (await ClaimantsAsync(url, null)).Count.ShouldBeGreaterThan(1, "steps ran on several replicas");
            (await ClaimantsAsync(url, "held")).ShouldBeEmpty("every place was given back");

            // Never more steps at once than the cap over all replicas (a step killed with its replica has no end: left out).
            var lines = (await File.ReadAllLinesAsync(Path.Combine(shared, "slots"))).Select(l => l.Split(' ')).ToList();
            var ends = lines.Where(p => p[0] == "end").ToDictionary(p => p[1], p => long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture));
            ends.Count.ShouldBe(names.Count);
            var edges = lines.Where(p => p[0] == "start" && ends.ContainsKey(p[1]))
                .SelectMany(p => new[] { (At: long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), Delta: 1), (At: ends[p[1]], Delta: -1) })
                .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
            var (now, most) = (0, 0);
            foreach (var e in edges) most = Math.Max(most, now += e.Delta);
            most.ShouldBeLessThanOrEqualTo(Cap, "steps at once over all replicas");
        }
        finally
        {
            foreach (var (_, serve) in replicas) await serve.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<List<JsonNode>> PodsAsync(HttpClient api) =>
        JsonNode.Parse(await api.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray()
            .SelectMany(w => w!["status"]?["nodes"]?.AsObject().Select(p => p.Value!) ?? [])
            .Where(n => n["type"]?.ToString() == "Pod").ToList();

    /// <summary>The replicas with step claims (whose place is in <paramref name="slot"/>, if given).</summary>
    private static async Task<List<string>> ClaimantsAsync(string url, string? slot)
    {
        await using var db = await PostgresDatabase.OpenAsync(url);
        await using var cmd = db.Source.CreateCommand("SELECT DISTINCT replica FROM egw_step_claims WHERE $1::text IS NULL OR slot = $1");
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)slot ?? DBNull.Value);
        await using var r = await cmd.ExecuteReaderAsync();
        var replicas = new List<string>();
        while (await r.ReadAsync()) replicas.Add(r.GetString(0));
        return replicas;
    }

    private static async Task<List<(string Name, string Holder)>> ReplicaCrashTestsLeases(string url)
    {
        await using var db = await PostgresDatabase.OpenAsync(url);
        await using var cmd = db.Source.CreateCommand("SELECT name, holder FROM egw_leases WHERE expires_at > now()");
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, string)>();
        while (await r.ReadAsync()) rows.Add((r.GetString(0), r.GetString(1)));
        return rows;
    }
}
