using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Shouldly;
using EventGateway.Events.EventSources.Github;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// The crash test of issue 14: three real `egw serve` replicas over a real nats-server and a real PostgreSQL, signed GitHub
/// pushes spread over all three, kill -9 of one replica mid-load (its steps killed with it, as when its machine dies)
/// and of the sensor's owner mid-burst. Then every acknowledged push fired its trigger exactly once, every workflow
/// completed (those of the dead replicas on another), and no step node ran twice.
/// </summary>
public sealed class ReplicaCrashTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const string Secret = "s3cr3t";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(6);

    /// <summary>Test steps that may run at once over all replicas (a semaphore): the steps record when they hold a place.</summary>
    private const int TestSlots = 3;

    /// <summary>Step processes that may run at once over all replicas (--max-processes with the shared store).</summary>
    private const int ProcessCap = 6;

    /// <summary>Pushes sent in all, in three phases; the kills come after 60 and 120 were acknowledged (of 80 and 160 sent).</summary>
    private const int MaxPushes = 240;

    private static string Manifests(int port, string shared) => $$$"""
        {{{GithubPush.Source(port, Secret)}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: limits}
        data: {tests: "{{{TestSlots}}}"}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci}
        spec:
          dependencies:
            - {name: push, eventSourceName: github, eventName: push}
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
                        arguments: {parameters: [{name: sha}]}
                        templates:
                          - name: main
                            steps:
                              - [{name: build, template: step}]
                              - [{name: test, template: test}]
                          - name: step
                            retryStrategy: {limit: 3, retryPolicy: Always}
                            script:
                              image: busybox
                              command: [sh]
                              source: |
                                echo "{{pod.name}}" >> {{{shared}}}/ran
                                echo "start {{pod.name}} $(date +%s%N)" >> {{{shared}}}/procs
                                sleep 1
                                echo "end {{pod.name}} $(date +%s%N)" >> {{{shared}}}/procs
                          - name: test
                            retryStrategy: {limit: 3, retryPolicy: Always}
                            synchronization:
                              semaphores: [{configMapKeyRef: {name: limits, key: tests}}]
                            script:
                              image: busybox
                              command: [sh]
                              source: |
                                echo "{{pod.name}}" >> {{{shared}}}/ran
                                echo "start {{pod.name}} $(date +%s%N)" | tee -a {{{shared}}}/procs >> {{{shared}}}/slots
                                sleep 0.5
                                echo "end {{pod.name}} $(date +%s%N)" | tee -a {{{shared}}}/procs >> {{{shared}}}/slots
                  parameters:
                    - src: {dependencyName: push, dataKey: body.after}
                      dest: spec.arguments.parameters.0.value
        """;

    [Fact]
    public async Task Three_replicas_survive_kill_9_of_one_mid_load_and_of_the_sensor_owner_mid_burst_with_every_push_fired_once()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var s3 = await S3Server.StartAsync("artifacts");
        var url = await server.NewDatabaseAsync();
        await (await PostgresDatabase.OpenAsync(url)).DisposeAsync();
        var dir = Directory.CreateTempSubdirectory("egw-replicas-").FullName;
        var shared = Directory.CreateDirectory(Path.Combine(dir, "shared")).FullName;
        var port = EventTestHost.FreePort();
        var manifests = Directory.CreateDirectory(Path.Combine(dir, "manifests")).FullName;
        File.WriteAllText(Path.Combine(manifests, "ci.yaml"), Manifests(port, shared));
        var repo = Path.Combine(dir, "repository.yaml");
        File.WriteAllText(repo, $"s3: {{endpoint: {s3.Endpoint}, bucket: artifacts, insecure: true}}\n");

        // Three replicas on one machine: each takes webhooks on a loopback address of its own, as pods on their own IPs.
        var replicas = new List<(string Id, string Address, ServeProcess Serve)>();
        try
        {
            foreach (var i in new[] { 1, 2, 3 })
                replicas.Add(($"r{i}", $"127.0.0.{i}", await ServeProcess.StartAsync(extra: ["--manifests", manifests, "--event-bus", nats.Url,
                    "--store", url, "--artifact-repository", repo, "--no-sandbox", "--replica-id", $"r{i}", "--lease-ttl", "6s", "--max-processes", $"{ProcessCap}",
                    "--events-address", $"127.0.0.{i}"])));

            var acked = new ConcurrentDictionary<string, bool>();
            var dead = new ConcurrentDictionary<string, bool>();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            async Task<HttpStatusCode?> Push(string address, string delivery)
            {
                using var req = GithubPush.Request($"http://{address}:{port}/push", Secret, delivery, $$$"""{"ref":"refs/heads/main","after":"{{{delivery}}}","repository":{"full_name":"acme/api"}}""");
                try
                {
                    using var resp = await http.SendAsync(req);
                    return resp.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException) { return null; }
            }
            foreach (var (_, address, _) in replicas)
                await Eventually.Get(async () => await Push(address, $"probe-{address}") == HttpStatusCode.OK ? "ok" : null, $"{address} to take pushes", Patience);
            foreach (var (_, address, _) in replicas) acked[$"probe-{address}"] = true;

            var next = 0;
            using var stop = new CancellationTokenSource();
            var firstKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var secondKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var senders = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var n = Interlocked.Increment(ref next);
                    if (n > MaxPushes) return; // a bounded load: what the replicas must then complete under the semaphore
                    // Phases, so the kills fall inside the load on any machine: the pushes past each kill wait for it.
                    if (n > 2 * MaxPushes / 3) await secondKill.Task;
                    else if (n > MaxPushes / 3) await firstKill.Task;
                    var (id, address, _) = replicas[n % replicas.Count];
                    if (dead.ContainsKey(id)) continue;
                    var delivery = $"d-{n}";
                    if (await Push(address, delivery) == HttpStatusCode.OK) acked[delivery] = true;
                }
            })).ToList();

            // Mid-load: kill -9 a replica that runs workflows (not the sensor's owner), with its steps, as if its machine died.
            await Eventually.Get(() => Task.FromResult(acked.Count >= 60 ? "enough" : null), "60 acknowledged pushes", Patience);
            using var observer = replicas[0].Serve.CreateClient();
            var victimId = await Eventually.Get(async () =>
            {
                var sensorOwnerNow = (await LeasesAsync(url)).SingleOrDefault(l => l.Name == "sensor/default/ci")?.Holder;
                var running = JsonNode.Parse(await observer.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray()
                    .SelectMany(w => w!["status"]?["nodes"]?.AsObject().Select(p => p.Value!) ?? [])
                    .Where(n => n["type"]?.ToString() == "Pod" && n["phase"]?.ToString() == "Running").Select(n => n["id"]!.ToString()).ToArray();
                return (await StepOwnersAsync(url, running)).FirstOrDefault(r => r != sensorOwnerNow);
            }, "a replica other than the sensor's owner to run a step", Patience);
            var victim = replicas.Single(r => r.Id == victimId);
            KillMachine(victim.Serve, dead, victim.Id);
            firstKill.SetResult();

            // Mid-burst: kill -9 the sensor's owner.
            await Eventually.Get(() => Task.FromResult(acked.Count >= 120 ? "enough" : null), "120 acknowledged pushes", Patience);
            var sensorOwner = (await LeasesAsync(url)).Single(l => l.Name == "sensor/default/ci").Holder;
            var owner = replicas.Single(r => r.Id == sensorOwner);
            if (!dead.ContainsKey(owner.Id)) KillMachine(owner.Serve, dead, owner.Id);
            var afterKill = acked.Count;
            secondKill.SetResult();
            await Task.WhenAll(senders); // every push sent: the last ones after the second kill
            acked.Count.ShouldBeGreaterThan(afterKill, "pushes were taken after the second kill");

            // Every acknowledged push fired exactly once; every workflow completed, on the replica left.
            var survivor = replicas.Single(r => !dead.ContainsKey(r.Id));
            using var api = survivor.Serve.CreateClient();
            var seen = "nothing yet";
            JsonArray workflows;
            try
            {
                workflows = await Eventually.Get(async () =>
                {
                    var items = JsonNode.Parse(await api.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray();
                    seen = $"{acked.Count} acknowledged, {items.Count} workflows: " + string.Join(", ", items.GroupBy(w => w!["status"]?["phase"]?.ToString() ?? "new").Select(g => $"{g.Count()} {g.Key}"));
                    return items.Count >= acked.Count && items.All(w => w!["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed" or "Error") ? items : null;
                }, "every acknowledged push's workflow to complete", Patience);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; last seen: {seen}", e);
            }
            var fired = workflows.Select(w => w!["spec"]!["arguments"]!["parameters"]![0]!["value"]!.ToString()).ToList();
            fired.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ShouldBeEmpty("pushes that fired twice");
            acked.Keys.Except(fired).ShouldBeEmpty("acknowledged pushes that fired nothing");
            workflows.Where(w => w!["status"]!["phase"]!.GetValue<string>() != "Succeeded")
                .Select(w => $"{w!["metadata"]!["name"]}: {w["status"]!["message"]}").ShouldBeEmpty();
            var nodes = workflows.SelectMany(w => w!["status"]!["nodes"]!.AsObject().Select(p => p.Value!)).ToList();
            nodes.Any(n => n["message"]?.ToString().Contains("stopped: the step's process was lost with it", StringComparison.Ordinal) == true)
                .ShouldBeTrue("some step was running on a killed replica and was taken over");

            // No step node ran twice (a retry is a node of its own).
            var ran = await File.ReadAllLinesAsync(Path.Combine(shared, "ran"));
            ran.GroupBy(l => l).Where(g => g.Count() > 1).Select(g => g.Key).ShouldBeEmpty("step nodes that ran twice");

            // The semaphore held across replicas: never more test steps at once than its limit. A step killed with its
            // replica has no end line; it is left out (its place was held until the takeover, so this undercounts, never overcounts).
            var most = await MostAtOnceAsync(Path.Combine(shared, "slots"));
            most.ShouldBeLessThanOrEqualTo(TestSlots, "test steps at once over all replicas");
            most.ShouldBeGreaterThan(1, "the load kept several test steps running at once (the check would see an excess)");

            // So did the process cap, over the steps of both templates.
            var processes = await MostAtOnceAsync(Path.Combine(shared, "procs"));
            processes.ShouldBeLessThanOrEqualTo(ProcessCap, "step processes at once over all replicas");
            processes.ShouldBeGreaterThan(TestSlots, "the load kept more steps running than the semaphore admits (the check would see an excess)");
        }
        finally
        {
            foreach (var (_, _, serve) in replicas) await serve.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The most steps running at once by their start and end lines (from the steps' own clock reads). A step killed
    /// with its replica has no end line; it is left out (its place was held until the takeover, so this undercounts, never overcounts).
    /// </summary>
    private static async Task<int> MostAtOnceAsync(string file)
    {
        var lines = (await File.ReadAllLinesAsync(file)).Select(l => l.Split(' ')).ToList();
        var ends = lines.Where(p => p[0] == "end").ToDictionary(p => p[1], p => long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture));
        var edges = lines.Where(p => p[0] == "start" && ends.ContainsKey(p[1]))
            .SelectMany(p => new[] { (At: long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), Delta: 1), (At: ends[p[1]], Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
        var (now, most) = (0, 0);
        foreach (var e in edges) most = Math.Max(most, now += e.Delta);
        return most;
    }

    /// <summary>kill -9 of the service and of every step it started: its machine is gone.</summary>
    internal static void KillMachine(ServeProcess serve, ConcurrentDictionary<string, bool> dead, string id)
    {
        dead[id] = true;
        serve.KillHard();
        var pids = new HashSet<int>();
        var pods = Path.Combine(serve.DataDir, "pods");
        if (Directory.Exists(pods))
            foreach (var pidFile in Directory.EnumerateFiles(pods, "pid", SearchOption.AllDirectories))
                if (int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) pids.Add(pid);
        // A launcher egw spawned just before it died may not have its pid file yet: every process whose arguments name
        // this replica's data directory (a step's launcher names its node directory) goes with the machine too.
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(proc), out var pid))
                try
                {
                    if (File.ReadAllText(Path.Combine(proc, "cmdline")).Contains(serve.DataDir, StringComparison.Ordinal)) pids.Add(pid);
                }
                catch (IOException) { } // gone meanwhile
                catch (UnauthorizedAccessException) { }
        foreach (var pid in pids)
        {
            using (var group = System.Diagnostics.Process.Start("kill", ["-KILL", "--", $"-{pid}"])) group.WaitForExit();
            using (var one = System.Diagnostics.Process.Start("kill", ["-KILL", $"{pid}"])) one.WaitForExit();
        }
    }

    /// <summary>The replicas that claimed these step nodes (egw_step_claims).</summary>
    private static async Task<List<string>> StepOwnersAsync(string url, string[] nodeIds)
    {
        await using var db = await PostgresDatabase.OpenAsync(url);
        await using var cmd = db.Source.CreateCommand("SELECT DISTINCT replica FROM egw_step_claims WHERE node_id = ANY($1)");
        cmd.Parameters.AddWithValue(nodeIds);
        await using var r = await cmd.ExecuteReaderAsync();
        var owners = new List<string>();
        while (await r.ReadAsync()) owners.Add(r.GetString(0));
        return owners;
    }

    private sealed record Lease(string Name, string Holder);

    private static async Task<List<Lease>> LeasesAsync(string url)
    {
        await using var db = await PostgresDatabase.OpenAsync(url);
        await using var cmd = db.Source.CreateCommand("SELECT name, holder FROM egw_leases WHERE expires_at > now()");
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<Lease>();
        while (await r.ReadAsync()) rows.Add(new Lease(r.GetString(0), r.GetString(1)));
        return rows;
    }
}
