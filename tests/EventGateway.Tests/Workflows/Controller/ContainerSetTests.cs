using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Controls;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>containerSet templates through the real engine: one pod, containers as sandboxed processes sharing a volume.</summary>
public sealed class ContainerSetTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The seed's clone/build/test shape with plain sh commands on a shared /workspace.</summary>
    private const string Pipeline = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: cset}
        spec:
          entrypoint: multi-container
          templates:
          - name: multi-container
            volumes:
            - name: workspace
              emptyDir: {}
            containerSet:
              volumeMounts:
              - name: workspace
                mountPath: /workspace
              containers:
              - name: clone
                image: alpine/git
                command: [sh, -c, "CLONE"]
              - name: build
                image: golang:1.26
                command: [sh, -c, "cat /workspace/repo/src.txt; echo built >> /workspace/repo/log"]
                dependencies: [clone]
              - name: test
                image: golang:1.26
                command: [sh, -c, "cat /workspace/repo/src.txt; echo tested"]
                dependencies: [clone]
        """;

    private static NodeStatus Container(Workflow wf, string name) =>
        wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Container && n.DisplayName == name);

    [Fact]
    public async Task Containers_share_the_workspace_and_run_after_their_dependencies()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Pipeline.Replace("CLONE", "mkdir -p /workspace/repo && echo 'package main' > /workspace/repo/src.txt && echo cloned"));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "cset");
        pod.Type.ShouldBe(NodeType.Pod);
        pod.Phase.ShouldBe(NodePhase.Succeeded);
        var (clone, build, test) = (Container(wf, "clone"), Container(wf, "build"), Container(wf, "test"));
        // Argo's graph: the root container under the pod, dependants under what they depend on.
        pod.Children.ShouldBe([clone.Id]);
        clone.Children!.Order().ShouldBe(new[] { build.Id, test.Id }.Order());
        foreach (var c in new[] { clone, build, test })
        {
            c.Phase.ShouldBe(NodePhase.Succeeded);
            c.BoundaryID.ShouldBe(pod.Id);
        }
        // What clone wrote, the dependants read: each log is the container's own.
        t.Logs(wf, clone).ShouldBe("cloned\n");
        t.Logs(wf, build).ShouldBe("package main\n");
        t.Logs(wf, test).ShouldBe("package main\ntested\n");
        wf.Status.Progress.ShouldBe("1/1");
    }

    [Fact]
    public async Task A_failed_container_fails_the_pod_and_its_dependants_never_start()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Pipeline.Replace("CLONE", "echo 'no network' >&2; exit 3"));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var pod = TestEngine.Node(wf, "cset");
        pod.Phase.ShouldBe(NodePhase.Failed);
        pod.Message.ShouldBe("container 'clone': Error (exit code 3)");
        Container(wf, "clone").Phase.ShouldBe(NodePhase.Failed);
        t.Logs(wf, Container(wf, "clone"), "stderr").ShouldBe("no network\n");
        foreach (var name in new[] { "build", "test" })
        {
            var c = Container(wf, name);
            c.Phase.ShouldBe(NodePhase.Omitted);
            c.Message.ShouldBe("not started: dependency 'clone' did not succeed");
            File.Exists(t.Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, c.Id), "stdout")).ShouldBeFalse();
        }
    }

    [Fact]
    public async Task Independent_containers_run_in_parallel_and_main_gives_the_outputs()
    {
        // a and b can only finish while the other runs (each waits for the other's file); main sees both.
        const string waitFor = "echo {0} >> /workspace/message; i=0; while [ ! -f /workspace/{1}.up ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 9; sleep 0.05; done";
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-par}
            spec:
              entrypoint: main
              volumes:
              - name: workspace
                emptyDir: {}
              templates:
              - name: main
                containerSet:
                  volumeMounts:
                  - {name: workspace, mountPath: /workspace}
                  containers:
                  - name: a
                    image: busybox
                    command: [sh, -c, "touch /workspace/a.up; {{string.Format(waitFor, "a", "b")}}"]
                  - name: b
                    image: busybox
                    command: [sh, -c, "touch /workspace/b.up; {{string.Format(waitFor, "b", "a")}}"]
                  - name: main
                    image: busybox
                    command: [sh, -c, "sort /workspace/message | paste -sd ' ' -; echo main >> /workspace/message"]
                    dependencies: [a, b]
                outputs:
                  parameters:
                  - name: message
                    valueFrom: {path: /workspace/message}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "cset-par");
        pod.Children!.Count.ShouldBe(2);
        pod.Outputs!.Result.ShouldBe("a b");
        pod.Outputs.ExitCode.ShouldBe("0");
        var lines = pod.Outputs.Parameters!.Single().Value!.Split('\n');
        lines[..2].Order().ShouldBe(["a", "b"]); // in either order: they ran side by side
        lines[2..].ShouldBe(["main"], "main appended after both");
    }

    [Fact]
    public async Task Retry_strategy_reruns_a_failed_container_in_place()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-retry}
            spec:
              entrypoint: main
              templates:
              - name: main
                volumes: [{name: work, emptyDir: {}}]
                containerSet:
                  retryStrategy: {retries: 2}
                  volumeMounts: [{name: work, mountPath: /work}]
                  containers:
                  - name: flaky
                    image: busybox
                    command: [sh, -c, "n=$(cat /work/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /work/n; [ $n -ge 2 ]"]
                  - name: main
                    image: busybox
                    command: [sh, -c, "cat /work/n"]
                    dependencies: [flaky]
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        Container(wf, "flaky").Phase.ShouldBe(NodePhase.Succeeded);
        TestEngine.Node(wf, "cset-retry").Outputs!.Result.ShouldBe("2");
    }

    [Fact]
    public async Task Deadline_kills_every_container_of_the_set()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var docs = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-slow}
            spec:
              entrypoint: main
              templates:
              - name: main
                activeDeadlineSeconds: 30
                containerSet:
                  containers:
                  - {name: a, image: busybox, command: [sh, -c, "echo started; sleep 300"]}
                  - {name: b, image: busybox, command: [sh, -c, "echo started; sleep 300"]}
                  - {name: after, image: busybox, command: [sh, -c, "echo never"], dependencies: [a]}
            """);
        var submitted = await t.Engine.SubmitAsync(docs.OfType<Workflow>().Single());
        var run = t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);
        var pods = Path.Combine(t.DataDir, "pods");
        var started = await Eventually.Get(() => Task.FromResult(
            Directory.Exists(pods) && Directory.GetFiles(pods, "stdout", SearchOption.AllDirectories).Where(f => File.ReadAllText(f) == "started\n").ToArray() is { Length: 2 } both
                ? both : null), "both containers started");
        var pids = started.Select(f => int.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(f)!, "pid")))).ToList();

        time.Advance(TimeSpan.FromSeconds(29));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));
        var wf = await run;

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "cset-slow").Message.ShouldBe("Step exceeded its deadline");
        foreach (var name in new[] { "a", "b" })
        {
            Container(wf, name).Phase.ShouldBe(NodePhase.Failed);
            Container(wf, name).Message.ShouldBe("Step exceeded its deadline");
        }
        Container(wf, "after").Phase.ShouldBe(NodePhase.Omitted);
        foreach (var pid in pids) Directory.Exists($"/proc/{pid}").ShouldBeFalse();
    }

    [Fact]
    public async Task Terminate_stops_every_running_container()
    {
        await using var t = await TestEngine.StartAsync();
        var docs = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-term}
            spec:
              entrypoint: main
              templates:
              - name: main
                containerSet:
                  containers:
                  - {name: a, image: busybox, command: [sh, -c, "echo started; sleep 300"]}
                  - {name: b, image: busybox, command: [sh, -c, "echo started; sleep 300"]}
            """);
        var submitted = await t.Engine.SubmitAsync(docs.OfType<Workflow>().Single());
        var pods = Path.Combine(t.DataDir, "pods");
        var started = await Eventually.Get(() => Task.FromResult(
            Directory.Exists(pods) && Directory.GetFiles(pods, "stdout", SearchOption.AllDirectories).Where(f => File.ReadAllText(f) == "started\n").ToArray() is { Length: 2 } both
                ? both : null), "both containers started");
        var pids = started.Select(f => int.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(f)!, "pid")))).ToList();

        var stored = (await t.Engine.Store.GetAsync<Workflow>(submitted.NamespaceOrDefault, submitted.Name))!;
        stored.Spec.Shutdown = "Terminate";
        await t.Engine.Store.UpdateAsync(stored);
        var wf = await t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        Container(wf, "a").Phase.ShouldBe(NodePhase.Failed);
        Container(wf, "b").Phase.ShouldBe(NodePhase.Failed);
        await Eventually.Get(() => Task.FromResult(pids.All(p => !Directory.Exists($"/proc/{p}")) ? "" : null), "every container process gone");
    }

    [Fact]
    public async Task A_restarted_engine_adopts_running_containers_and_starts_the_rest()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-test-").FullName;
        var docs = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-adopt}
            spec:
              entrypoint: main
              templates:
              - name: main
                volumes: [{name: ws, emptyDir: {}}]
                containerSet:
                  volumeMounts: [{name: ws, mountPath: /ws}]
                  containers:
                  - name: first
                    image: busybox
                    command: [sh, -c, "echo started; i=0; while [ ! -f /ws/go ]; do i=$((i+1)); [ $i -gt 2400 ] && exit 9; sleep 0.05; done; echo first > /ws/order"]
                  - name: main
                    image: busybox
                    command: [sh, -c, "cat /ws/order"]
                    dependencies: [first]
            """);
        Workflow submitted;
        string volume;
        var first = await TestEngine.StartAsync(dataDir: dataDir);
        try
        {
            submitted = await first.Engine.SubmitAsync(docs.OfType<Workflow>().Single());
            var pods = Path.Combine(dataDir, "pods");
            var stdout = await Eventually.Get(() => Task.FromResult(
                Directory.Exists(pods) ? Directory.GetFiles(pods, "stdout", SearchOption.AllDirectories).FirstOrDefault(f => File.ReadAllText(f) == "started\n") : null), "first container started");
            volume = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(stdout)!)!, NodeIds.For(submitted.Name, submitted.Name), "volumes", "ws");
        }
        finally
        {
            await first.Engine.DisposeAsync(); // the service goes; the container keeps running
        }

        await using var second = await TestEngine.StartAsync(dataDir: dataDir);
        File.WriteAllText(Path.Combine(volume, "go"), "");
        var wf = await second.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        Container(wf, "first").Phase.ShouldBe(NodePhase.Succeeded);
        TestEngine.Node(wf, "cset-adopt").Outputs!.Result.ShouldBe("first");
    }

    [Fact]
    public async Task Egw_retry_runs_the_whole_set_again_on_fresh_processes()
    {
        await using var t = await TestEngine.StartAsync();
        // The gate is read from a ConfigMap when the container's spec is built, so a retry sees the change.
        var yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: gate}
            data: {open: "no"}
            ---
            """ + "\n" + Pipeline.Replace("CLONE", "echo gate $OPEN; mkdir -p /workspace/repo && echo src > /workspace/repo/src.txt; [ $OPEN = yes ]")
                .Replace("      - name: clone\n", "      - name: clone\n        env: [{name: OPEN, valueFrom: {configMapKeyRef: {name: gate, key: open}}}]\n");
        var failed = await t.RunYamlAsync(yaml);
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        Container(failed, "build").Phase.ShouldBe(NodePhase.Omitted);

        var gate = (await t.Engine.Store.GetAsync<ConfigMap>("default", "gate"))!;
        gate.Data!["open"] = "yes";
        await t.Engine.Store.UpdateAsync(gate);
        await new WorkflowControls(t.Engine.Store, TimeProvider.System).RetryAsync("default", "cset");
        var wf = await t.Engine.WaitAsync(failed, new CancellationTokenSource(TestEngine.Patience).Token);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        foreach (var name in new[] { "clone", "build", "test" }) Container(wf, name).Phase.ShouldBe(NodePhase.Succeeded);
        t.Logs(wf, Container(wf, "clone")).ShouldBe("gate yes\n"); // a new process, not the failed one adopted
    }

    [Fact]
    public async Task Egw_get_shows_each_container_and_egw_logs_prints_each_containers_lines()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var file = Path.Combine(serve.DataDir, "cset.yaml");
        File.WriteAllText(file, Pipeline.Replace("CLONE", "mkdir -p /workspace/repo && echo 'package main' > /workspace/repo/src.txt && echo cloned"));
        var (code, _, stderr) = await Cli.CliTests.Egw("submit", file, "--server", server, "--wait");
        code.ShouldBe(0, stderr);

        var get = await Cli.CliTests.Egw("get", "cset", "--server", server);
        get.Out.ShouldContain("✔ cset");
        foreach (var name in new[] { "clone", "build", "test" }) get.Out.ShouldContain($"✔ {name}");
        var logs = (await Cli.CliTests.Egw("logs", "cset", "--server", server)).Out.Split('\n');
        logs.ShouldContain("clone: cloned");
        logs.ShouldContain("build: package main");
        logs.ShouldContain("test: tested");
    }

    [Fact]
    public async Task An_inline_set_with_a_cycle_errors_at_run_time_without_starting_anything()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: cset-inline}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: set
                    inline:
                      containerSet:
                        containers:
                        - {name: a, image: busybox, command: [sh, -c, "echo a"], dependencies: [b]}
                        - {name: b, image: busybox, command: [sh, -c, "echo b"], dependencies: [a]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "set").Phase.ShouldBe(NodePhase.Error);
        TestEngine.Node(wf, "set").Message.ShouldBe("containerSet: dependency cycle: a -> b -> a");
        wf.Status.Nodes!.Values.ShouldNotContain(n => n.Type == NodeType.Container);
    }

    // ---- validation ----

    private static string Set(string containers, string extra = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: v}
        spec:
          entrypoint: main
          templates:
          - name: main
            {{extra}}
            containerSet:
              containers: {{containers}}
        """;

    private static (string Path, string Reason)[] Errors(string yaml)
    {
        try
        {
            ManifestReader.Read(yaml, "v.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return [.. e.Errors.Select(x => (x.Path, x.Reason))];
        }
    }

    [Fact]
    public void Unknown_dependencies_and_cycles_are_refused_with_their_paths()
    {
        Errors(Set("[{name: a, image: x, dependencies: [nope]}]")).ShouldBe([
            ("spec.templates[0].containerSet.containers[0].dependencies", "container 'nope' is not defined in template 'main'")]);
        Errors(Set("[{name: a, image: x, dependencies: [b]}, {name: b, image: x, dependencies: [a]}]")).ShouldBe([
            ("spec.templates[0].containerSet.containers", "dependency cycle: a -> b -> a")]);
    }

    [Fact]
    public void Duplicate_names_empty_sets_and_undeclared_volumes_are_refused()
    {
        Errors(Set("[{name: a, image: x}, {name: a, image: x}]")).ShouldBe([
            ("spec.templates[0].containerSet.containers[1].name", "duplicate container name 'a' in template 'main'")]);
        Errors(Set("[]")).ShouldBe([("spec.templates[0].containerSet.containers", "missing: a containerSet needs at least one container")]);
        Errors(Set("[{name: a, image: x}]\n      volumeMounts: [{name: ws, mountPath: /ws}]")).ShouldBe([
            ("spec.templates[0].containerSet.volumeMounts[0].name", "volume 'ws' is not declared in the template's or the workflow's volumes")]);
        Errors(Set("[{name: a, image: x, volumeMounts: [{name: ws, mountPath: /ws}]}]", "volumes: [{name: ws, emptyDir: {}}]")).ShouldBeEmpty();
    }

    [Fact]
    public void Outputs_need_a_main_container()
    {
        Errors(Set("[{name: a, image: x}]", "outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}")).ShouldBe([
            ("spec.templates[0].containerSet.containers", "outputs are read from the container named 'main', and this containerSet has none")]);
    }
}
