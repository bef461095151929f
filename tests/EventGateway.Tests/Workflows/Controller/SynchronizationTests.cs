using EventGateway.Cli.Output;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Mutexes and semaphores through the real engine: exclusion proven from the recorded run intervals, waiting
/// visible in the status, locks released on every ending and kept across a restart.
/// </summary>
public sealed class SynchronizationTests
{
    private const string Ns = "default";

    private static Workflow Parse(string yaml) => ManifestReader.Read(yaml).OfType<Workflow>().Single();

    /// <summary>A workflow taking <paramref name="sync"/> at workflow level around one step running <paramref name="script"/>.</summary>
    private static Workflow Locked(string name, string sync, string script, string extraSpec = "") => Parse($$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}}
        spec:
          entrypoint: main
          synchronization: {{sync}}
          {{extraSpec}}
          templates:
          - name: main
            container: {image: busybox, command: [sh, -c, "{{script}}"]}
        """);

    private const string Mutex = "{mutexes: [{name: deploy}]}";
    private const string Semaphore = "{semaphores: [{configMapKeyRef: {name: limits, key: workflows}}]}";

    private static ConfigMap Limits(string value) => new()
    {
        Kind = "ConfigMap", ApiVersion = "v1",
        Metadata = new ObjectMeta { Name = "limits", Namespace = Ns },
        Data = new() { ["workflows"] = value },
    };

    private static Task<Workflow> Stored(TestEngine t, Workflow wf, Func<Workflow, bool> condition, string what) =>
        Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>(Ns, wf.Name) is { } w && condition(w) ? w : null, $"{wf.Name}: {what}");

    /// <summary>Completes when a step of the workflow got its process (on a fake clock the status is saved late).</summary>
    private static Task StepStarted(TestEngine t, string workflow)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Engine.Controller.Observe(new StartOf(workflow, started));
        return started.Task.WaitAsync(TestEngine.Patience);
    }

    private sealed class StartOf(string workflow, TaskCompletionSource started) : IWorkflowObserver
    {
        public void StepStarted(Workflow wf, NodeStatus node, StepKey step)
        {
            if (wf.Name == workflow) started.TrySetResult();
        }
    }

    private static bool StepRunning(Workflow w) => w.Status?.Nodes?.Values.Any(n => n.Type == NodeType.Pod && n.Phase == NodePhase.Running) == true;

    private static bool WaitsFor(Workflow w, string lockKey) =>
        w.Status is { Phase: WorkflowPhase.Pending, Message: { } m } && m.StartsWith($"Waiting for {lockKey} lock", StringComparison.Ordinal);

    private static async Task<Workflow> Done(TestEngine t, Workflow submitted)
    {
        using var cts = new CancellationTokenSource(TestEngine.Patience);
        return await t.Engine.WaitAsync(submitted, cts.Token);
    }

    private static int MaxOverlap(IEnumerable<Workflow> wfs) =>
        ControllerTests.MaxOverlap(wfs.Select(w => new NodeStatus { StartedAt = w.Status!.StartedAt, FinishedAt = w.Status.FinishedAt }));

    [Fact]
    public async Task Workflows_holding_the_same_mutex_never_overlap()
    {
        await using var t = await TestEngine.StartAsync();
        var submitted = new List<Workflow>();
        for (var i = 0; i < 3; i++) submitted.Add(await t.Engine.SubmitAsync(Locked($"mx-{i}", Mutex, "sleep 0.5")));
        var done = await Task.WhenAll(submitted.Select(w => Done(t, w)));

        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        // A workflow holds the mutex from its start to its end: no two of those intervals may overlap.
        MaxOverlap(done).ShouldBe(1);
        ControllerTests.MaxOverlap(done.SelectMany(w => w.Status!.Nodes!.Values.Where(n => n.Type == NodeType.Pod))).ShouldBe(1);
        done.ShouldAllBe(w => w.Status!.Synchronization == null, "a finished workflow holds nothing");
    }

    [Fact]
    public async Task A_semaphore_of_two_caps_five_workflows_at_two()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync([Limits("2")]);
        var submitted = new List<Workflow>();
        for (var i = 0; i < 5; i++) submitted.Add(await t.Engine.SubmitAsync(Locked($"sem-{i}", Semaphore, "sleep 1")));
        var done = await Task.WhenAll(submitted.Select(w => Done(t, w)));

        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        MaxOverlap(done).ShouldBe(2);
    }

    [Fact]
    public async Task A_template_mutex_serializes_parallel_steps_of_one_workflow()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: fan}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: work, template: critical, withSequence: {count: "4"}}
              - name: critical
                synchronization: {mutexes: [{name: "{{workflow.name}}-section"}]}
                container: {image: busybox, command: [sh, -c, "sleep 0.3"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var pods = wf.Status.Nodes!.Values.Where(n => n.Type == NodeType.Pod).ToList();
        pods.Count.ShouldBe(4);
        ControllerTests.MaxOverlap(pods).ShouldBe(1);
        pods.ShouldAllBe(p => p.SynchronizationStatus == null && p.Message == null);
        wf.Status.Synchronization.ShouldBeNull();
    }

    [Fact]
    public async Task A_waiting_workflow_is_visible_and_raising_the_limit_admits_it_at_once()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync([Limits("1")]);
        var holder = await t.Engine.SubmitAsync(Locked("holder", Semaphore, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");
        var waiter = await t.Engine.SubmitAsync(Locked("waiter", Semaphore, "echo admitted"));

        const string key = "default/ConfigMap/limits/workflows";
        var waiting = await Stored(t, waiter, w => WaitsFor(w, key), "to wait for the semaphore");
        waiting.Status!.Message.ShouldBe($"Waiting for {key} lock. Lock status: 0/1");
        waiting.Status.Nodes.ShouldBeEmpty("nothing runs before the lock is held");
        var queued = waiting.Status.Synchronization!.Semaphore!.Waiting!.Single();
        (queued.Semaphore, queued.Holders!.Single()).ShouldBe((key, "default/holder"));
        var held = (await t.Engine.Store.GetAsync<Workflow>(Ns, "holder"))!.Status!.Synchronization!.Semaphore!.Holding!.Single();
        (held.Semaphore, held.Holders!.Single()).ShouldBe((key, "default/holder"));

        var shown = WorkflowPrinter.Summary(waiting, DateTimeOffset.UtcNow);
        shown.ShouldContain($"Waiting for:         {key} (held by default/holder)");
        shown.ShouldContain("Lock status: 0/1");

        await t.Engine.Store.ApplyAsync(Limits("2"));
        var admitted = await Done(t, waiter);
        admitted.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        t.Logs(admitted, admitted.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod)).ShouldContain("admitted");
        (await t.Engine.Store.GetAsync<Workflow>(Ns, "holder"))!.Status!.Phase.ShouldBe(WorkflowPhase.Running, "the waiter got in beside the holder, not after it");

        await new WorkflowControls(t.Engine.Store, TimeProvider.System).TerminateAsync(Ns, "holder");
        (await Done(t, holder)).Status!.Phase.ShouldBe(WorkflowPhase.Failed);
    }

    [Fact]
    public async Task Terminate_releases_the_mutex_to_the_next_in_line()
    {
        await using var t = await TestEngine.StartAsync();
        var holder = await t.Engine.SubmitAsync(Locked("first", Mutex, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");
        var waiter = await t.Engine.SubmitAsync(Locked("second", Mutex, "echo second"));
        await Stored(t, waiter, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");

        await new WorkflowControls(t.Engine.Store, TimeProvider.System).TerminateAsync(Ns, "first");
        var terminated = await Done(t, holder);
        terminated.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        terminated.Status.Synchronization.ShouldBeNull();
        (await Done(t, waiter)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task Deleting_the_holder_releases_the_mutex()
    {
        await using var t = await TestEngine.StartAsync();
        var holder = await t.Engine.SubmitAsync(Locked("doomed", Mutex, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");
        var waiter = await t.Engine.SubmitAsync(Locked("heir", Mutex, "echo heir"));
        await Stored(t, waiter, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");

        (await t.Engine.Store.DeleteAsync<Workflow>(Ns, "doomed")).ShouldBeTrue();
        (await Done(t, waiter)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task A_retried_workflow_takes_its_mutex_again_before_anything_runs()
    {
        await using var t = await TestEngine.StartAsync();
        var failed = await Done(t, await t.Engine.SubmitAsync(Locked("flaky", Mutex, "exit 1")));
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var holder = await t.Engine.SubmitAsync(Locked("holding", Mutex, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");

        var ops = new WorkflowControls(t.Engine.Store, TimeProvider.System);
        var retried = await ops.RetryAsync(Ns, "flaky");
        var waiting = await Stored(t, retried, w => w.Status?.Message?.StartsWith("Waiting for default/Mutex/deploy lock", StringComparison.Ordinal) == true, "to wait for the mutex");
        waiting.Status!.Nodes!.Values.ShouldAllBe(n => n.Phase != NodePhase.Running, "nothing runs without the lock");

        await ops.TerminateAsync(Ns, "holding");
        var again = await Done(t, retried);
        again.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        again.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).StartedAt!.Value
            .ShouldBeGreaterThanOrEqualTo((await Done(t, holder)).Status!.FinishedAt!.Value, "it ran again only after the holder let go");
    }

    [Fact]
    public async Task Terminating_a_waiting_workflow_ends_it_without_running_anything()
    {
        await using var t = await TestEngine.StartAsync();
        var holder = await t.Engine.SubmitAsync(Locked("owner", Mutex, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");
        var waiter = await t.Engine.SubmitAsync(Locked("queued", Mutex, "echo never"));
        await Stored(t, waiter, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");

        var ops = new WorkflowControls(t.Engine.Store, TimeProvider.System);
        await ops.TerminateAsync(Ns, "queued");
        var ended = await Done(t, waiter);
        ended.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        ended.Status.Message.ShouldBe("Stopped with strategy 'Terminate'");
        ended.Status.Nodes.ShouldBeEmpty();

        // It left the queue: a newcomer is next once the owner ends.
        var next = await t.Engine.SubmitAsync(Locked("next", Mutex, "echo next"));
        await Stored(t, next, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");
        await ops.TerminateAsync(Ns, "owner");
        (await Done(t, next)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task The_workflow_deadline_releases_the_mutex()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var t = await TestEngine.StartAsync(time: time);
        var started = StepStarted(t, "late");
        var holder = await t.Engine.SubmitAsync(Locked("late", Mutex, "sleep 300", "activeDeadlineSeconds: 30"));
        await started;
        var waiter = await t.Engine.SubmitAsync(Locked("patient", Mutex, "echo patient"));
        await Stored(t, waiter, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");

        time.Advance(TimeSpan.FromSeconds(31));
        var expired = await Done(t, holder);
        expired.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        expired.Status.Message.ShouldBe("Step exceeded its deadline");
        (await Done(t, waiter)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task A_node_that_ends_while_waiting_leaves_the_queue()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var t = await TestEngine.StartAsync(time: time);
        var started = StepStarted(t, "busy");
        var holder = await t.Engine.SubmitAsync(Locked("busy", Mutex, "sleep 300"));
        await started;
        var impatient = await t.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: impatient}
            spec:
              entrypoint: main
              activeDeadlineSeconds: 30
              templates:
              - name: main
                steps:
                - - {name: try, template: locked}
              - name: locked
                synchronization: {mutexes: [{name: deploy}]}
                container: {image: busybox, command: [echo, never]}
            """));
        var waiting = await Stored(t, impatient, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "try" && n.Phase == NodePhase.Pending
            && n.Message == "Waiting for default/Mutex/deploy lock. Lock status: 0/1") == true, "its step to wait for the mutex");
        waiting.Status!.Phase.ShouldBe(WorkflowPhase.Running, "a template lock holds back the node, not the workflow");
        TestEngine.Node(waiting, "try").SynchronizationStatus!.Waiting.ShouldBe("default/Mutex/deploy");
        waiting.Status.Synchronization!.Mutex!.Waiting!.Single().Holder.ShouldBe("default/busy");

        time.Advance(TimeSpan.FromSeconds(31));
        var expired = await Done(t, impatient);
        expired.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(expired, "try").Phase.ShouldBe(NodePhase.Failed);

        // Had "try" stayed in the queue, it would be first in line and the newcomer would never get the mutex.
        var next = await t.Engine.SubmitAsync(Locked("newcomer", Mutex, "echo newcomer"));
        await Stored(t, next, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");
        await new WorkflowControls(t.Engine.Store, TimeProvider.System).TerminateAsync(Ns, "busy");
        (await Done(t, next)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task After_a_restart_the_running_holder_keeps_its_mutex_and_the_waiters_keep_waiting()
    {
        var t1 = await TestEngine.StartAsync();
        var dataDir = t1.DataDir;
        var holder = await t1.Engine.SubmitAsync(Locked("keeper", Mutex, "sleep 300"));
        await Stored(t1, holder, StepRunning, "its step to run");
        var waiter = await t1.Engine.SubmitAsync(Locked("before", Mutex, "echo before"));
        await Stored(t1, waiter, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the mutex");
        await t1.Engine.DisposeAsync(); // the step goes on and is adopted by the next engine

        await using var t2 = await TestEngine.StartAsync(dataDir: dataDir);
        // Passes run in any order: "after" may be looked at before "before" is; "before" keeps its place (LockTableTests).
        var later = await t2.Engine.SubmitAsync(Locked("after", Mutex, "echo after"));
        var queued = await Stored(t2, later, w => WaitsFor(w, "default/Mutex/deploy"), "to wait for the restored mutex");
        queued.Status!.Synchronization!.Mutex!.Waiting!.Single().Holder.ShouldBe("default/keeper");
        (await t2.Engine.Store.GetAsync<Workflow>(Ns, "before"))!.Status!.Phase.ShouldBe(WorkflowPhase.Pending);
        (await t2.Engine.Store.GetAsync<Workflow>(Ns, "keeper"))!.Status!.Phase.ShouldBe(WorkflowPhase.Running);

        await new WorkflowControls(t2.Engine.Store, TimeProvider.System).TerminateAsync(Ns, "keeper");
        var done = new[] { await Done(t2, waiter), await Done(t2, later) };
        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        MaxOverlap(done).ShouldBe(1);
        done[0].Status!.StartedAt!.Value.ShouldBeLessThanOrEqualTo(done[1].Status!.StartedAt!.Value, "the older waiter goes first");
    }

    [Fact]
    public async Task An_unreadable_limit_fails_the_workflow_saying_why()
    {
        await using var t = await TestEngine.StartAsync();
        var missing = await Done(t, await t.Engine.SubmitAsync(Locked("no-configmap", Semaphore, "echo never")));
        missing.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        missing.Status.Message.ShouldBe("Failed to acquire the synchronization lock default/ConfigMap/limits/workflows: configmap \"limits\" not found in namespace \"default\"");
        missing.Status.Nodes.ShouldBeEmpty();

        await t.Engine.ApplyAsync([Limits("two")]);
        var invalid = await Done(t, await t.Engine.SubmitAsync(Locked("bad-limit", Semaphore, "echo never")));
        invalid.Status!.Message.ShouldBe("Failed to acquire the synchronization lock default/ConfigMap/limits/workflows: configmap \"limits\" key \"workflows\": 'two' is not a non-negative integer");
    }

    [Fact]
    public async Task Waiters_go_by_priority_then_age()
    {
        await using var t = await TestEngine.StartAsync();
        var holder = await t.Engine.SubmitAsync(Locked("gatekeeper", Mutex, "sleep 300"));
        await Stored(t, holder, StepRunning, "its step to run");
        var waiters = new List<Workflow>();
        foreach (var (name, priority) in new[] { ("old-low", 0), ("new-high", 5), ("newer-low", 0) })
        {
            var w = await t.Engine.SubmitAsync(Locked(name, Mutex, "echo " + name, $"priority: {priority}"));
            await Stored(t, w, x => WaitsFor(x, "default/Mutex/deploy"), "to wait for the mutex");
            waiters.Add(w);
        }

        await new WorkflowControls(t.Engine.Store, TimeProvider.System).TerminateAsync(Ns, "gatekeeper");
        var done = await Task.WhenAll(waiters.Select(w => Done(t, w)));
        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        MaxOverlap(done).ShouldBe(1);
        done.OrderBy(w => w.Status!.StartedAt).Select(w => w.Name).ShouldBe(["new-high", "old-low", "newer-low"]);
    }

    [Fact]
    public async Task Workflows_needing_several_locks_in_any_order_all_finish_and_never_share_one()
    {
        await using var t = await TestEngine.StartAsync();
        var needs = new Dictionary<string, string[]>
        {
            ["ab"] = ["alpha", "beta"], ["ba"] = ["beta", "alpha"], ["a"] = ["alpha"], ["b"] = ["beta"], ["ab2"] = ["alpha", "beta"],
        };
        var submitted = new List<Workflow>();
        foreach (var (name, locks) in needs)
            submitted.Add(await t.Engine.SubmitAsync(Locked(name, $"{{mutexes: [{string.Join(", ", locks.Select(l => $"{{name: {l}}}"))}]}}", "sleep 0.3")));
        var done = await Task.WhenAll(submitted.Select(w => Done(t, w)));

        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        foreach (var mutex in new[] { "alpha", "beta" })
            MaxOverlap(done.Where(w => needs[w.Name].Contains(mutex))).ShouldBe(1, $"holders of {mutex}");
    }

    // ---- the lock table on its own: decisions that need no process to show ----

    private static (LockTable Table, List<string> Woken) Table()
    {
        var woken = new List<string>();
        return (new LockTable(woken.Add, _ => { }), woken);
    }

    private static readonly LockName Sem = new("default", "limits", "workflows");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Lowering_a_limit_lets_holders_finish_and_admits_newcomers_only_below_it()
    {
        var (table, woken) = Table();
        table.TryAcquire("default/a", [Sem], 0, T0).Granted.ShouldBeFalse("the limit is not read yet");
        table.SetLimits("default", "limits", new Dictionary<string, string> { ["workflows"] = "2" }, read: 1);
        woken.ShouldBe(["default/a"]);
        table.TryAcquire("default/a", [Sem], 0, T0).Granted.ShouldBeTrue();
        table.TryAcquire("default/b", [Sem], 0, T0.AddSeconds(1)).Granted.ShouldBeTrue();

        table.SetLimits("default", "limits", new Dictionary<string, string> { ["workflows"] = "1" }, read: 2);
        table.Holders(Sem).ShouldBe(["default/a", "default/b"], "holders keep what they hold");
        var c = table.TryAcquire("default/c", [Sem], 0, T0.AddSeconds(2));
        (c.Granted, c.Message).ShouldBe((false, "Waiting for default/ConfigMap/limits/workflows lock. Lock status: 0/1"));

        table.Release("default/a");
        table.TryAcquire("default/c", [Sem], 0, T0.AddSeconds(2)).Granted.ShouldBeFalse("one holder left is the new limit");
        woken.Clear();
        table.Release("default/b");
        woken.ShouldBe(["default/c"]);
        table.TryAcquire("default/c", [Sem], 0, T0.AddSeconds(2)).Granted.ShouldBeTrue();
    }

    [Fact]
    public void An_older_read_of_the_configmap_arriving_late_does_not_undo_a_newer_one()
    {
        var (table, _) = Table();
        table.TryAcquire("default/a", [Sem], 0, T0);
        table.SetLimits("default", "limits", new Dictionary<string, string> { ["workflows"] = "1" }, read: 2);
        table.SetLimits("default", "limits", null, read: 1);
        table.TryAcquire("default/a", [Sem], 0, T0).Granted.ShouldBeTrue();
    }

    [Fact]
    public void A_semaphore_nobody_holds_or_waits_for_is_forgotten_with_its_limit()
    {
        var (table, _) = Table();
        table.TryAcquire("default/x", [Sem], 0, T0);
        table.UsesConfigMap("default", "limits").ShouldBeTrue();
        table.ReleaseWorkflow("default", "x");
        table.UsesConfigMap("default", "limits").ShouldBeFalse("changes of that ConfigMap no longer matter");
        table.SetLimits("default", "limits", new Dictionary<string, string> { ["workflows"] = "5" }, read: 1);
        table.TryAcquire("default/y", [Sem], 0, T0).Granted.ShouldBeFalse("a lock used again reads its limit again");
    }

    [Theory]
    [InlineData("{}", "spec.synchronization", "locks nothing: list mutexes or semaphores")]
    [InlineData("{mutexes: [{namespace: other}]}", "spec.synchronization.mutexes[0].name", "missing: a mutex needs a name")]
    [InlineData("{semaphores: [{}]}", "spec.synchronization.semaphores[0].configMapKeyRef", "missing: a semaphore needs configMapKeyRef")]
    [InlineData("{semaphores: [{configMapKeyRef: {name: limits}}]}", "spec.synchronization.semaphores[0].configMapKeyRef.key", "missing: name the ConfigMap key")]
    [InlineData("{mutex: {name: deploy}}", "spec.synchronization.mutex", "removed in Argo Workflows 4.0: write 'mutexes: [{name: deploy}]' instead")]
    [InlineData("{semaphore: {configMapKeyRef: {name: limits, key: workflows}}}", "spec.synchronization.semaphore", "write 'semaphores: [{configMapKeyRef: {name: limits, key: workflows}}]' instead")]
    [InlineData("{mutexes: [{name: a/b}]}", "spec.synchronization.mutexes[0].name", "'a/b' must not contain '/'")]
    [InlineData("{mutexes: [{name: deploy, database: true}]}", "spec.synchronization.mutexes[0].database", "database-backed locks need")]
    public void Bad_synchronization_is_refused_at_load_with_its_field_path(string sync, string path, string reason)
    {
        var e = Should.Throw<ManifestException>(() => Locked("bad", sync, "true"));
        e.Errors.ShouldContain(x => x.Path == path && x.Reason.Contains(reason, StringComparison.Ordinal), string.Join("\n", e.Errors.Select(x => $"{x.Path}: {x.Reason}")));
    }

    [Fact]
    public void A_template_synchronization_is_checked_at_its_path()
    {
        var e = Should.Throw<ManifestException>(() => Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: bad}
            spec:
              entrypoint: main
              templates:
              - name: main
                synchronization: {semaphores: [{configMapKeyRef: {key: k}}]}
                container: {image: busybox}
            """));
        e.Errors.ShouldContain(x => x.Path == "spec.templates[0].synchronization.semaphores[0].configMapKeyRef.name");
    }
}
