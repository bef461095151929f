using System.Collections.Concurrent;
using Npgsql;
using Shouldly;
using EventGateway.Postgres.Replicas;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// Mutexes and semaphores across replicas: each replica's lock table grants only when the shared holders in a real
/// PostgreSQL leave room, so a mutex is held once and a semaphore up to its limit whichever replica asks; a waiter
/// refused because of another replica's holder is asked again (RetrySharedWaiters) and gets the lock once it is free.
/// </summary>
public sealed class SharedLocksTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly DateTimeOffset Created = DateTimeOffset.UnixEpoch;

    private sealed class Replica
    {
        private long _reads;

        public Replica(NpgsqlDataSource db, string id)
        {
            // A semaphore's limit is read when first used: here a ConfigMap "limits" with builds: 2, answered at once.
            Table = new LockTable(wf => Woken.Enqueue(wf),
                n => Table!.SetLimits(n.Namespace, n.Name, new Dictionary<string, string> { ["builds"] = "2" }, Interlocked.Increment(ref _reads)),
                new PostgresSharedLocks(db, id));
        }

        public LockTable Table { get; }
        public ConcurrentQueue<string> Woken { get; } = new();

        /// <summary>Asks as a reconcile pass does, again once a semaphore's limit has been read.</summary>
        public Acquisition Acquire(string holder, LockName name)
        {
            var first = Table.TryAcquire(holder, [name], 0, Created);
            return first.Message?.Contains("reading its limit", StringComparison.Ordinal) == true ? Table.TryAcquire(holder, [name], 0, Created) : first;
        }
    }


    [Fact]
    public async Task A_mutex_is_held_once_across_replicas_and_the_waiter_on_another_replica_gets_it_after_the_release()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var a = new Replica(db.Source, "a");
        var b = new Replica(db.Source, "b");
        var mutex = new LockName("default", "deploy", null);

        a.Table.TryAcquire("default/wf-1", [mutex], 0, Created).Granted.ShouldBeTrue();
        var waiting = b.Table.TryAcquire("default/wf-2", [mutex], 0, Created);
        waiting.Granted.ShouldBeFalse("wf-1 holds it on replica a");
        waiting.Message.ShouldBe("Waiting for default/Mutex/deploy lock: held by workflows of other replicas up to its limit of 1");
        b.Table.TryAcquire("default/wf-2", [mutex], 0, Created).Granted.ShouldBeFalse("asking again changes nothing while a holds it");

        a.Table.ReleaseWorkflow("default", "wf-1");
        b.Table.RetrySharedWaiters();
        b.Woken.ShouldContain("default/wf-2");
        b.Table.TryAcquire("default/wf-2", [mutex], 0, Created).Granted.ShouldBeTrue();
        a.Table.TryAcquire("default/wf-3", [mutex], 0, Created).Granted.ShouldBeFalse("now b holds it");
    }

    [Fact]
    public async Task A_semaphore_admits_its_limit_across_three_replicas_and_a_takeover_restores_the_holders_without_a_second_place()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var replicas = new[] { new Replica(db.Source, "a"), new Replica(db.Source, "b"), new Replica(db.Source, "c") };
        var semaphore = new LockName("default", "limits", "builds");

        var granted = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            var holder = $"default/wf-{i}";
            if (replicas[i % 3].Acquire(holder, semaphore).Granted) granted.Add(holder);
        }
        granted.ShouldBe(["default/wf-0", "default/wf-1"], "a limit of 2 over all three replicas");

        // Replica a dies; c takes its workflow over and restores its hold from the status: still two places, not three.
        var status = new EventGateway.Model.Workflow
        {
            Metadata = new EventGateway.Model.ObjectMeta { Name = "wf-0", Namespace = "default" },
            Spec = new EventGateway.Model.WorkflowSpec(),
            Status = new EventGateway.Model.WorkflowStatus
            {
                Synchronization = new EventGateway.Model.SynchronizationStatus
                {
                    Semaphore = new EventGateway.Model.SemaphoreStatus { Holding = [new EventGateway.Model.SemaphoreHolding { Semaphore = semaphore.Key, Holders = ["default/wf-0"] }] },
                },
            },
        };
        replicas[2].Table.Restore(status);
        await using (var cmd = db.Source.CreateCommand("SELECT count(*) FROM egw_sync_holders"))
            ((long)(await cmd.ExecuteScalarAsync())!).ShouldBe(2);
        replicas[2].Acquire("default/wf-2", semaphore).Granted.ShouldBeFalse("wf-0 (restored) and wf-1 hold both places");
        replicas[2].Table.ReleaseWorkflow("default", "wf-0");
        replicas[2].Acquire("default/wf-2", semaphore).Granted.ShouldBeTrue("wf-0 ended: its place is free on every replica");
        replicas[0].Acquire("default/wf-3", semaphore).Granted.ShouldBeFalse("wf-1 and wf-2 hold both places");
    }

    [Fact]
    public async Task Waiters_on_different_replicas_are_granted_in_priority_then_age_order_and_a_taken_over_waiter_keeps_its_place()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var (a, b, c) = (new Replica(db.Source, "a"), new Replica(db.Source, "b"), new Replica(db.Source, "c"));
        var mutex = new LockName("default", "deploy", null);
        var (t0, t1, t2) = (Created, Created.AddMinutes(1), Created.AddMinutes(2));

        a.Table.TryAcquire("default/holder", [mutex], 0, t0).Granted.ShouldBeTrue();
        b.Table.TryAcquire("default/old", [mutex], 0, t0).Granted.ShouldBeFalse();
        c.Table.TryAcquire("default/new", [mutex], 0, t1).Granted.ShouldBeFalse();
        c.Table.TryAcquire("default/urgent", [mutex], 5, t2).Granted.ShouldBeFalse();
        a.Table.ReleaseWorkflow("default", "holder");

        // The newest, on c, asks first: the older waiter on b comes first, and says so.
        var passed = c.Table.TryAcquire("default/new", [mutex], 0, t1);
        passed.Granted.ShouldBeFalse("c's urgent waiter is first in c's own queue");
        var d = new Replica(db.Source, "d");
        var behind = d.Table.TryAcquire("default/newest", [mutex], 0, t2);
        behind.Message.ShouldBe("Waiting for default/Mutex/deploy lock: 0 of its 1 held, and 3 waiting before it on other replicas (priority, then age)");
        c.Table.TryAcquire("default/urgent", [mutex], 5, t2).Granted.ShouldBeTrue("the highest priority, whatever its age or replica");
        c.Table.ReleaseWorkflow("default", "urgent");
        var second = c.Table.TryAcquire("default/new", [mutex], 0, t1);
        second.Granted.ShouldBeFalse("b's waiter is older");
        second.Message.ShouldBe("Waiting for default/Mutex/deploy lock: 0 of its 1 held, and 1 waiting before it on other replicas (priority, then age)");

        // b dies before its waiter's turn; d takes its workflow over and queues it again with its original time: still first.
        var status = new EventGateway.Model.Workflow
        {
            Metadata = new EventGateway.Model.ObjectMeta { Name = "old", Namespace = "default", CreationTimestamp = t0 },
            Spec = new EventGateway.Model.WorkflowSpec { Synchronization = new EventGateway.Model.Synchronization { Mutexes = [new EventGateway.Model.MutexRef { Name = "deploy" }] } },
            Status = new EventGateway.Model.WorkflowStatus
            {
                Synchronization = new EventGateway.Model.SynchronizationStatus
                {
                    Mutex = new EventGateway.Model.MutexStatus { Waiting = [new EventGateway.Model.MutexHolding { Mutex = mutex.Key }] },
                },
            },
        };
        new PostgresSharedLocks(db.Source, "d").ForgetOthers(holder => holder == "default/old");
        d.Table.Restore(status);
        c.Table.TryAcquire("default/new", [mutex], 0, t1).Granted.ShouldBeFalse("the taken-over waiter keeps its place before it");
        d.Table.TryAcquire("default/old", [mutex], 0, t0).Granted.ShouldBeTrue();
        d.Table.ReleaseWorkflow("default", "old");
        c.Table.TryAcquire("default/new", [mutex], 0, t1).Granted.ShouldBeTrue();
        await using var cmd = db.Source.CreateCommand("SELECT string_agg(holder, ',' ORDER BY holder) FROM egw_sync_waiters");
        (await cmd.ExecuteScalarAsync()).ShouldBe("default/newest", "granted waiters leave the shared queue");
    }
}
