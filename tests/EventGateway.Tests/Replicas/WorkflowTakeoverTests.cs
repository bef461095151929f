using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Shouldly;
using EventGateway.Model;
using EventGateway.Postgres.Replicas;
using EventGateway.Postgres.Schema;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Replicas;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// Two replicas' workflow controllers over one store, owning workflows by shard leases in a real PostgreSQL: when the
/// owner loses its shards, its steps stop, and the replica that takes the shards over completes the workflow: a step
/// that had finished is not run again, the step that was running on the old owner ends as Error ("its replica a
/// stopped") and is retried by its retryStrategy, under a new node. Leases are driven round by round (TickAsync), the
/// takeover forced in the database (expiry), and every wait is on a condition.
/// </summary>
public sealed class WorkflowTakeoverTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private sealed class Replica(ServiceProvider services, ReplicaLeases leases, string dataDir) : IAsyncDisposable
    {
        public ReplicaLeases Leases => leases;
        public WorkflowController Controller => services.GetRequiredService<WorkflowController>();
        public WorkflowSubmitter Submitter => services.GetRequiredService<WorkflowSubmitter>();

        public async ValueTask DisposeAsync()
        {
            await Controller.StopAsync(CancellationToken.None);
            await services.DisposeAsync();
            try { Directory.Delete(dataDir, recursive: true); }
            catch (IOException) { }
        }
    }

    private static async Task<Replica> StartAsync(string id, IResourceStore store, NpgsqlDataSource db)
    {
        var dataDir = Directory.CreateTempSubdirectory($"egw-replica-{id}-").FullName;
        var leases = new ReplicaLeases(db, id, TimeSpan.FromSeconds(15), new FakeTimeProvider(DateTimeOffset.UtcNow), NullLogger<ReplicaLeases>.Instance);
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        // Steps write into a directory the test shares with them: unsandboxed, as --no-sandbox runs them.
        services.AddEventGateway(new EventGatewayOptions { DataDir = dataDir, Sandbox = false, MaxProcesses = 8 });
        services.AddSingleton(store);
        services.AddSingleton<IOwnership>(leases);
        services.AddSingleton<IStepClaims>(new PostgresStepClaims(db));
        var provider = services.BuildServiceProvider();
        var replica = new Replica(provider, leases, dataDir);
        await replica.Controller.StartAsync(CancellationToken.None);
        return replica;
    }

    [Fact]
    public async Task The_replica_taking_over_a_workflow_ends_the_lost_step_as_Error_retries_it_and_never_reruns_a_finished_step()
    {
        var url = await server.NewDatabaseAsync();
        await using var database = await PostgresDatabase.OpenAsync(url);
        var shared = Directory.CreateTempSubdirectory("egw-takeover-").FullName;
        var storeDir = Directory.CreateTempSubdirectory("egw-takeover-store-").FullName;
        using var store = new SqliteResourceStore(Path.Combine(storeDir, "egw.db"), TimeProvider.System);
        await using var a = await StartAsync("a", store, database.Source);
        await using var b = await StartAsync("b", store, database.Source);
        await a.Leases.TickAsync();
        await b.Leases.TickAsync();

        var ran = Path.Combine(shared, "ran");
        var release = Path.Combine(shared, "release");
        var wf = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: handover, namespace: default}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - [{name: first, template: quick}]
                - [{name: second, template: waits}]
              - name: quick
                script: {image: busybox, command: [sh], source: 'echo "first {{pod.name}}" >> {{ran}}'}
              - name: waits
                retryStrategy: {limit: 2, retryPolicy: Always}
                script:
                  image: busybox
                  command: [sh]
                  source: |
                    echo "second {{pod.name}}" >> {{ran}}
                    while [ ! -e {{release}} ]; do sleep 0.05; done
                    echo "finished {{pod.name}}" >> {{ran}}
            """.Replace("{{ran}}", ran).Replace("{{release}}", release), "handover.yaml").OfType<Workflow>().Single();
        await store.CreateAsync(await a.Submitter.PrepareAsync(wf, null, "handover.yaml", CancellationToken.None));

        // a owns every shard (b joined after it), runs the quick step and starts the waiting one.
        var running = await Eventually.Get(async () =>
            (await store.GetAsync<Workflow>("default", "handover"))?.Status?.Nodes?.Values
                .FirstOrDefault(n => n.Type == "Pod" && n.DisplayName.StartsWith("second", StringComparison.Ordinal) && n.Phase == NodePhase.Running),
            "the second step to run on replica a", TestEngine.Patience);
        await Eventually.Get(async () => File.Exists(ran) && (await File.ReadAllLinesAsync(ran)).Any(l => l.StartsWith("second", StringComparison.Ordinal)) ? "yes" : null,
            "the second step's process to start", TestEngine.Patience);

        // a stops renewing (its machine is gone): its leases expire, a notices first and stops its work, b takes over.
        await using (var c = database.Source.CreateCommand("UPDATE egw_leases SET expires_at = now() - interval '1 second' WHERE holder = 'a'"))
            await c.ExecuteNonQueryAsync();
        await a.Leases.TickAsync();
        await b.Leases.TickAsync();
        await File.WriteAllTextAsync(release, "");

        var done = await Eventually.Get(async () => await store.GetAsync<Workflow>("default", "handover") is { Status.IsCompleted: true } w ? w : null,
            "the workflow to complete on replica b", TestEngine.Patience);
        var nodes = done.Status!.Nodes!.Values.ToList();
        done.Status.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", nodes.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var lost = nodes.Single(n => n.Id == running.Id);
        lost.Phase.ShouldBe(NodePhase.Error);
        lost.Message.ShouldBe("its replica a stopped: the step's process was lost with it");
        nodes.Count(n => n.Type == "Pod" && n.DisplayName.StartsWith("second", StringComparison.Ordinal) && n.Phase == NodePhase.Succeeded).ShouldBe(1);

        var lines = await File.ReadAllLinesAsync(ran);
        lines.Count(l => l.StartsWith("first", StringComparison.Ordinal)).ShouldBe(1, "the finished step never runs again: " + string.Join(" | ", lines));
        lines.Count(l => l.StartsWith("second", StringComparison.Ordinal)).ShouldBe(2, "the lost attempt and its retry: " + string.Join(" | ", lines));
        lines.Where(l => l.StartsWith("second", StringComparison.Ordinal)).Distinct().Count().ShouldBe(2, "each node ran once");
        lines.Count(l => l.StartsWith("finished", StringComparison.Ordinal)).ShouldBe(1, "a's attempt was stopped when a lost its shard: " + string.Join(" | ", lines));
        Directory.Delete(shared, recursive: true);
        Directory.Delete(storeDir, recursive: true);
    }
}
