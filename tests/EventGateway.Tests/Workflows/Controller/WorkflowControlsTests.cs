using EventGateway.Tests.Support;
using Microsoft.Extensions.Logging;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// suspend, resume, stop, terminate, retry and resubmit against the real controller and real step processes.
/// Steps that must be held open or counted run unsandboxed, so they can see the test's gate and counter files.
/// </summary>
public sealed class WorkflowControlsTests
{
    private const string Ns = "default";

    /// <summary>An embedded engine plus a directory of files its steps read and append to.</summary>
    private sealed class Engine : IAsyncDisposable
    {
        private Engine(string dataDir, string files, EmbeddedEngine engine)
        {
            (DataDir, Files, Embedded) = (dataDir, files, engine);
            Ops = new WorkflowControls(engine.Store, TimeProvider.System);
        }

        public string DataDir { get; }
        public string Files { get; }
        public EmbeddedEngine Embedded { get; }
        public WorkflowControls Ops { get; }
        public IResourceStore Store => Embedded.Store;

        public static async Task<Engine> StartAsync(bool sandbox = true, int maxProcesses = 64)
        {
            var dataDir = Directory.CreateTempSubdirectory("egw-ops-").FullName;
            var files = Directory.CreateDirectory(Path.Combine(dataDir, "files")).FullName;
            var logging = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log"))));
            var engine = new EmbeddedEngine(new EventGatewayOptions { DataDir = dataDir, MaxProcesses = maxProcesses, Sandbox = sandbox }, logging);
            await engine.StartAsync();
            return new Engine(dataDir, files, engine);
        }

        public async Task<Workflow> SubmitAsync(string yaml) =>
            await Embedded.SubmitAsync(ManifestReader.Read(yaml.Replace("DIR", Files)).OfType<Workflow>().Single());

        public async Task<Workflow> WaitAsync(Workflow wf)
        {
            using var cts = new CancellationTokenSource(TestEngine.Patience);
            return await Embedded.WaitAsync(wf, cts.Token);
        }

        public async Task<Workflow> RunAsync(string yaml) => await WaitAsync(await SubmitAsync(yaml));

        /// <summary>Waits until the stored workflow satisfies the condition (the controller saves asynchronously).</summary>
        public Task<Workflow> Until(Workflow wf, Func<Workflow, bool> condition, string what) =>
            Eventually.Get(async () => await Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name) is { } w && condition(w) ? w : null, what);

        public int Runs(string counter) => File.Exists(Path.Combine(Files, counter)) ? File.ReadAllLines(Path.Combine(Files, counter)).Length : 0;

        public void Open(string gate) => File.WriteAllText(Path.Combine(Files, gate), "");

        public string Logs(Workflow wf, NodeStatus node) =>
            File.ReadAllText(Embedded.Executor.LogPath(new EventGateway.Workflows.Execution.StepKey(wf.NamespaceOrDefault, wf.Name, node.Id), "stdout"));

        public async ValueTask DisposeAsync()
        {
            await Embedded.DisposeAsync();
            try { Directory.Delete(DataDir, recursive: true); }
            catch (IOException) { }
        }
    }

    private static NodeStatus? Find(Workflow wf, string displayName) => wf.Status?.Nodes?.Values.FirstOrDefault(n => n.DisplayName == displayName);

    private static bool Is(Workflow wf, string displayName, string phase) => Find(wf, displayName)?.Phase == phase;

    // ---- suspend / resume ----

    [Fact]
    public async Task Suspend_lets_the_running_step_finish_but_starts_no_new_one_and_resume_continues_to_Succeeded()
    {
        await using var e = await Engine.StartAsync(sandbox: false);
        var wf = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: pausable}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: first, template: gated}
                - - {name: second, template: count}
              - name: gated
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/first.runs; while [ ! -e DIR/go ]; do sleep 0.02; done"]}
              - name: count
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/second.runs"]}
            """);
        await e.Until(wf, w => Is(w, "first", NodePhase.Running), "the first step to run");

        var suspended = await e.Ops.SuspendAsync(Ns, "pausable", CancellationToken.None);
        suspended.Spec.Suspend.ShouldBe(true);
        e.Open("go");

        var paused = await e.Until(wf, w => Is(w, "first", NodePhase.Succeeded), "the running step to finish while suspended");
        paused.Status!.Phase.ShouldBe(WorkflowPhase.Running);
        WorkflowControls.IsSuspended(paused).ShouldBeTrue();
        Find(paused, "second").ShouldBeNull();
        e.Runs("second.runs").ShouldBe(0);

        var resumed = await e.Ops.ResumeAsync(Ns, "pausable", ct: CancellationToken.None);
        resumed.Spec.Suspend.ShouldBeNull();
        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        e.Runs("first.runs").ShouldBe(1);
        e.Runs("second.runs").ShouldBe(1);
    }

    [Fact]
    public async Task Resume_lets_a_suspend_step_without_duration_succeed_with_its_default_output()
    {
        await using var e = await Engine.StartAsync();
        var wf = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: approval}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: approve, template: wait}
                - - name: after
                    template: echo
                    arguments: {parameters: [{name: v, value: "{{steps.approve.outputs.parameters.answer}}"}]}
              - name: wait
                suspend: {}
                outputs: {parameters: [{name: answer, valueFrom: {supplied: {}, default: "yes"}}]}
              - name: echo
                inputs: {parameters: [{name: v}]}
                container: {image: busybox, command: [echo, "answer={{inputs.parameters.v}}"]}
            """);
        var waiting = await e.Until(wf, w => Is(w, "approve", NodePhase.Running), "the suspend step to wait");
        WorkflowControls.IsSuspended(waiting).ShouldBeTrue();
        waiting.Spec.Suspend.ShouldBeNull();

        var resumed = await e.Ops.ResumeAsync(Ns, "approval", ct: CancellationToken.None);
        Find(resumed, "approve")!.Phase.ShouldBe(NodePhase.Succeeded);

        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        Find(done, "approve")!.Outputs!.Parameters!.Single().Value.ShouldBe("yes");
        e.Logs(done, Find(done, "after")!).ShouldContain("answer=yes");
    }

    [Fact]
    public async Task Stop_of_one_selected_suspend_node_fails_only_that_node_with_the_message()
    {
        await using var e = await Engine.StartAsync();
        var wf = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: gates}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: one, template: wait, continueOn: {failed: true}}
                  - {name: two, template: wait}
              - name: wait
                suspend: {}
            """);
        await e.Until(wf, w => Is(w, "one", NodePhase.Running) && Is(w, "two", NodePhase.Running), "both gates to wait");

        await e.Ops.StopAsync(Ns, "gates", "rejected", "displayName=one", CancellationToken.None);
        var rejected = await e.Until(wf, w => Is(w, "one", NodePhase.Failed), "the selected gate to fail");
        Find(rejected, "one")!.Message.ShouldBe("rejected");
        Find(rejected, "two")!.Phase.ShouldBe(NodePhase.Running);

        await e.Ops.ResumeAsync(Ns, "gates", "displayName=two", CancellationToken.None);
        (await e.WaitAsync(wf)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    // ---- stop / terminate ----

    private const string LongWithExitHandler = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: NAME}
        spec:
          entrypoint: main
          onExit: bye
          templates:
          - name: main
            steps:
            - - {name: long, template: long}
            - - {name: never, template: bye}
          - name: long
            container: {image: busybox, command: [sh, -c, "sleep 300 & echo started; wait"]}
          - name: bye
            container: {image: busybox, command: [sh, -c, "echo exit handler saw {{workflow.status}}"]}
        """;

    /// <summary>Waits until the long step's process runs and answers its pid.</summary>
    private static async Task<int> LongStepPid(Engine e, Workflow wf)
    {
        var running = await e.Until(wf, w => Is(w, "long", NodePhase.Running), "the long step to run");
        var node = Find(running, "long")!;
        await Eventually.Get(() => Task.FromResult(File.Exists(e.Embedded.Executor.LogPath(new EventGateway.Workflows.Execution.StepKey(Ns, wf.Name, node.Id), "stdout"))
            && e.Logs(running, node).Contains("started") ? "yes" : null), "the long step to print");
        var dir = Path.GetDirectoryName(e.Embedded.Executor.LogPath(new EventGateway.Workflows.Execution.StepKey(Ns, wf.Name, node.Id), "stdout"))!;
        return int.Parse(File.ReadAllText(Path.Combine(dir, "pid")));
    }

    [Fact]
    public async Task Stop_kills_the_running_step_starts_nothing_new_and_runs_the_exit_handler()
    {
        await using var e = await Engine.StartAsync();
        var wf = await e.SubmitAsync(LongWithExitHandler.Replace("NAME", "stoppable"));
        var pid = await LongStepPid(e, wf);

        var stopping = await e.Ops.StopAsync(Ns, "stoppable", "enough", CancellationToken.None);
        stopping.Spec.Shutdown.ShouldBe("Stop");

        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        done.Status.Message.ShouldBe("Stopped with strategy 'Stop'");
        done.Metadata.Annotations![WorkflowControls.ShutdownMessageAnnotation].ShouldBe("enough");
        var node = Find(done, "long")!;
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("Stopped with strategy 'Stop'");
        Find(done, "never").ShouldBeNull();
        var exit = Find(done, "stoppable.onExit")!;
        exit.Phase.ShouldBe(NodePhase.Succeeded);
        e.Logs(done, exit).ShouldContain("exit handler saw Failed");
        await Eventually.Get(() => Task.FromResult(Directory.Exists($"/proc/{pid}") ? null : "gone"), "the killed step's process to be gone");
    }

    [Fact]
    public async Task Terminate_kills_the_running_step_and_runs_no_exit_handler()
    {
        await using var e = await Engine.StartAsync();
        var wf = await e.SubmitAsync(LongWithExitHandler.Replace("NAME", "terminable"));
        var pid = await LongStepPid(e, wf);

        (await e.Ops.TerminateAsync(Ns, "terminable", CancellationToken.None)).Spec.Shutdown.ShouldBe("Terminate");

        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        done.Status.Message.ShouldBe("Stopped with strategy 'Terminate'");
        Find(done, "long")!.Message.ShouldBe("Stopped with strategy 'Terminate'");
        Find(done, "terminable.onExit").ShouldBeNull();
        Find(done, "never").ShouldBeNull();
        await Eventually.Get(() => Task.FromResult(Directory.Exists($"/proc/{pid}") ? null : "gone"), "the killed step's process to be gone");
    }

    [Fact]
    public async Task Stop_also_fails_steps_waiting_for_a_process_slot_and_they_never_start()
    {
        await using var e = await Engine.StartAsync(sandbox: false, maxProcesses: 1);
        var wf = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: queued}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: one, template: hold}
                  - {name: two, template: hold}
              - name: hold
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/hold.runs; while [ ! -e DIR/never ]; do sleep 0.02; done"]}
            """);
        // Whichever step got the only slot holds it; the other waits for it.
        await e.Until(wf, w => Find(w, "one") is not null && Find(w, "two") is not null && e.Runs("hold.runs") == 1, "one step to run and one to wait for the slot");

        await e.Ops.StopAsync(Ns, "queued", null, CancellationToken.None);
        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        Find(done, "one")!.Message.ShouldBe("Stopped with strategy 'Stop'");
        Find(done, "two")!.Message.ShouldBe("Stopped with strategy 'Stop'");

        // The slot is free again: a later workflow gets it, and the stopped step never did.
        (await e.RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: later}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/later.runs"]}
            """)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        e.Runs("later.runs").ShouldBe(1);
        e.Runs("hold.runs").ShouldBe(1);
    }

    [Fact]
    public async Task A_suspended_workflow_can_still_be_stopped()
    {
        await using var e = await Engine.StartAsync();
        var wf = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: held}
            spec:
              entrypoint: main
              suspend: true
              templates:
              - name: main
                container: {image: busybox, command: [echo, never]}
            """);
        var held = await e.Until(wf, w => w.Status?.Phase == WorkflowPhase.Running, "the workflow to start");
        held.Status!.Nodes!.ShouldBeEmpty();

        await e.Ops.StopAsync(Ns, "held", null, CancellationToken.None);
        var done = await e.WaitAsync(wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        done.Status.Message.ShouldBe("Stopped with strategy 'Stop'");
        done.Status.Nodes!.Values.ShouldHaveSingleItem().Message.ShouldBe("Stopped with strategy 'Stop'");
    }

    // ---- retry ----

    private const string FlakySteps = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: NAME}
        spec:
          entrypoint: main
          templates:
          - name: main
            steps:
            - - {name: ok, template: ok}
            - - {name: flaky, template: flaky}
          - name: ok
            container: {image: busybox, command: [sh, -c, "echo run >> DIR/ok.runs"]}
          - name: flaky
            container: {image: busybox, command: [sh, -c, "echo run >> DIR/flaky.runs; [ -e DIR/fixed ]"]}
        """;

    [Fact]
    public async Task Retry_runs_only_the_failed_step_again_and_reaches_Succeeded()
    {
        await using var e = await Engine.StartAsync(sandbox: false);
        var failed = await e.RunAsync(FlakySteps.Replace("NAME", "flaky-steps"));
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var okBefore = Find(failed, "ok")!;
        e.Open("fixed");

        var retried = await e.Ops.RetryAsync(Ns, "flaky-steps", ct: CancellationToken.None);
        retried.Status!.Phase.ShouldBe(WorkflowPhase.Running);
        retried.Status.FinishedAt.ShouldBeNull();
        Find(retried, "flaky").ShouldBeNull();
        Find(retried, "ok")!.Phase.ShouldBe(NodePhase.Succeeded);
        retried.Metadata.Annotations![WorkflowControls.PodsToDeleteAnnotation].ShouldBe(Find(failed, "flaky")!.Id);

        var done = await e.WaitAsync(retried);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        e.Runs("ok.runs").ShouldBe(1);
        e.Runs("flaky.runs").ShouldBe(2);
        Find(done, "ok")!.FinishedAt.ShouldBe(okBefore.FinishedAt);
        done.Metadata.Annotations?.ContainsKey(WorkflowControls.PodsToDeleteAnnotation).ShouldNotBe(true);
    }

    [Fact]
    public async Task Retry_of_a_DAG_runs_the_failed_task_and_the_tasks_omitted_because_of_it()
    {
        await using var e = await Engine.StartAsync(sandbox: false);
        var failed = await e.RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: dag}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: a, template: flaky}
                  - {name: b, template: count, depends: a}
                  - {name: c, template: ok}
              - name: flaky
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/a.runs; [ -e DIR/fixed ]"]}
              - name: count
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/b.runs"]}
              - name: ok
                container: {image: busybox, command: [sh, -c, "echo run >> DIR/c.runs"]}
            """);
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        Find(failed, "b")!.Phase.ShouldBe(NodePhase.Omitted);
        e.Open("fixed");

        await e.Ops.RetryAsync(Ns, "dag", ct: CancellationToken.None);
        var done = await e.WaitAsync(failed);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        (e.Runs("a.runs"), e.Runs("b.runs"), e.Runs("c.runs")).ShouldBe((2, 1, 1));
    }

    [Fact]
    public async Task Retry_with_restartSuccessful_runs_the_selected_succeeded_step_again()
    {
        await using var e = await Engine.StartAsync(sandbox: false);
        e.Open("fixed");
        var ok = await e.RunAsync(FlakySteps.Replace("NAME", "all-good"));
        ok.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        await e.Ops.RetryAsync(Ns, "all-good", restartSuccessful: true, nodeFieldSelector: "displayName=ok", CancellationToken.None);
        (await e.WaitAsync(ok)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        e.Runs("ok.runs").ShouldBe(2);
        e.Runs("flaky.runs").ShouldBe(1);
    }

    // ---- resubmit ----

    [Fact]
    public async Task Resubmit_creates_a_new_workflow_with_the_given_name_once()
    {
        await using var e = await Engine.StartAsync();
        var original = await e.RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: original, labels: {team: blue}}
            spec:
              entrypoint: main
              arguments: {parameters: [{name: who, value: again}]}
              templates:
              - name: main
                container: {image: busybox, command: [echo, "hello {{workflow.parameters.who}}"]}
            """);
        original.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        var copy = await e.Ops.ResubmitAsync(Ns, "original", newName: "original-again", ct: CancellationToken.None);
        copy.Name.ShouldBe("original-again");
        copy.Metadata.Labels![WorkflowControls.ResubmittedFromLabel].ShouldBe("original");
        copy.Metadata.Labels["team"].ShouldBe("blue");
        copy.Status?.Nodes.ShouldBeNull();
        var done = await e.WaitAsync(copy);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        e.Logs(done, done.Status.Nodes!.Values.Single()).ShouldContain("hello again");

        // The same name again (a replayed trigger) answers the workflow already made.
        (await e.Ops.ResubmitAsync(Ns, "original", newName: "original-again", ct: CancellationToken.None)).Metadata.Uid.ShouldBe(copy.Metadata.Uid);
        var generated = await e.Ops.ResubmitAsync(Ns, "original", ct: CancellationToken.None);
        generated.Name.ShouldStartWith("original-");
        generated.Name.Length.ShouldBe("original-".Length + 5);
    }

    [Fact]
    public async Task Memoized_resubmit_carries_over_succeeded_steps_and_runs_the_failed_ones()
    {
        await using var e = await Engine.StartAsync(sandbox: false);
        var failed = await e.RunAsync(FlakySteps.Replace("NAME", "memo"));
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        e.Open("fixed");

        var copy = await e.Ops.ResubmitAsync(Ns, "memo", memoized: true, newName: "memo-2", ct: CancellationToken.None);
        var done = await e.WaitAsync(copy);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var ok = Find(done, "ok")!;
        (ok.Phase, ok.Message).ShouldBe((NodePhase.Skipped, $"original pod: {Find(failed, "ok")!.Id}"));
        e.Runs("ok.runs").ShouldBe(1);
        e.Runs("flaky.runs").ShouldBe(2);
    }

    // ---- refusals ----

    [Fact]
    public async Task Operations_refuse_what_the_workflow_state_does_not_allow_with_Argo_words()
    {
        await using var e = await Engine.StartAsync();
        var missing = await Should.ThrowAsync<NotFoundException>(() => e.Ops.SuspendAsync(Ns, "nope", CancellationToken.None));
        missing.Message.ShouldBe("workflows.argoproj.io \"nope\" not found in namespace \"default\"");
        await Should.ThrowAsync<NotFoundException>(() => e.Ops.ResubmitAsync(Ns, "nope", ct: CancellationToken.None));

        var finished = await e.RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: finished}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: busybox, command: [echo, hi]}
            """);
        finished.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        async Task Refused(Func<Task> operation, string message) =>
            (await Should.ThrowAsync<WorkflowControlException>(operation)).Message.ShouldBe(message);
        await Refused(() => e.Ops.SuspendAsync(Ns, "finished"), "cannot suspend completed workflows");
        await Refused(() => e.Ops.StopAsync(Ns, "finished", null), "cannot shutdown a completed workflow: workflow: \"finished\", namespace: \"default\"");
        await Refused(() => e.Ops.TerminateAsync(Ns, "finished"), "cannot shutdown a completed workflow: workflow: \"finished\", namespace: \"default\"");
        await Refused(() => e.Ops.RetryAsync(Ns, "finished"), "To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector");
        await Refused(() => e.Ops.ResubmitAsync(Ns, "finished", memoized: true), "workflow must be Failed/Error to resubmit in memoized mode");

        var running = await e.SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: running}
            spec:
              entrypoint: main
              suspend: true
              templates:
              - name: main
                container: {image: busybox, command: [echo, hi]}
            """);
        await e.Until(running, w => w.Status?.Phase == WorkflowPhase.Running, "the workflow to start");
        await Refused(() => e.Ops.RetryAsync(Ns, "running"), "workflow must be Failed/Error to retry");
        await Refused(() => e.Ops.ResumeAsync(Ns, "running", "displayName=absent"),
            "currently, set only targets suspend nodes: no suspend nodes matching nodeFieldSelector: displayName=absent");
        await Refused(() => e.Ops.ResumeAsync(Ns, "running", "colour=red"),
            "nodeFieldSelector 'colour=red': unknown field 'colour' (use displayName, templateName, phase, name, id, templateRef.name, templateRef.template or inputs.parameters.NAME.value)");
        await Refused(() => e.Ops.RetryAsync(Ns, "running", true, "displayName"),
            "nodeFieldSelector 'displayName': 'displayName' must look like field=value or field!=value");
        (await e.Store.GetAsync<Workflow>(Ns, "running"))!.Spec.Suspend.ShouldBe(true, "a refused operation changes nothing");
    }

    // ---- concurrency ----

    /// <summary>Writes a label to the same workflow just before the first update goes through, as a concurrent writer would.</summary>
    private sealed class InterleavingStore(IResourceStore inner) : IResourceStore
    {
        public int Updates;

        public async Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
        {
            if (Interlocked.Increment(ref Updates) == 1)
            {
                var other = (await inner.GetAsync<Workflow>(resource.NamespaceOrDefault, resource.Name, ct))!;
                (other.Metadata.Labels ??= [])["touched"] = "yes";
                await inner.UpdateAsync(other, ct);
            }
            return await inner.UpdateAsync(resource, ct);
        }

        public Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.GetAsync<T>(@namespace, name, ct);
        public Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource => inner.ListAsync<T>(@namespace, ct);
        public Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.CreateAsync(resource, ct);
        public Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.ApplyAsync(resource, ct);
        public Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default) => inner.ApplyAllAsync(resources, ct);
        public Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.DeleteAsync<T>(@namespace, name, ct);
        public IDisposable Watch(string kind, Action<ResourceChange> onChange) => inner.Watch(kind, onChange);
    }

    [Fact]
    public async Task A_conflicting_write_is_read_again_and_the_operation_applied_on_top_of_it()
    {
        var dir = Directory.CreateTempSubdirectory("egw-ops-store-");
        try
        {
            using var sqlite = new SqliteResourceStore(Path.Combine(dir.FullName, "egw.db"));
            await sqlite.CreateAsync(ManifestReader.Read("""
                apiVersion: argoproj.io/v1alpha1
                kind: Workflow
                metadata: {name: contested}
                spec:
                  entrypoint: main
                  templates:
                  - name: main
                    container: {image: busybox, command: [echo, hi]}
                """).OfType<Workflow>().Single());
            var store = new InterleavingStore(sqlite);

            var suspended = await new WorkflowControls(store, TimeProvider.System).SuspendAsync(Ns, "contested", CancellationToken.None);
            store.Updates.ShouldBe(2);
            var stored = (await sqlite.GetAsync<Workflow>(Ns, "contested"))!;
            stored.Spec.Suspend.ShouldBe(true);
            stored.Metadata.Labels!["touched"].ShouldBe("yes");
            stored.Metadata.ResourceVersion.ShouldBe(suspended.Metadata.ResourceVersion);
        }
        finally { dir.Delete(recursive: true); }
    }
}
