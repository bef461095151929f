using System.Net.Http.Json;
using Docker.DotNet.Models;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// A step's container over its life, on a real Podman: what it may touch (no privileges, no host path but the step's
/// own, the engine's bridge network), its memory limit (OOMKilled), the end of it by deadline or terminate (the
/// container is killed and removed), and kill -9 of `egw serve` while it runs (adopted after the restart, not rerun).
/// </summary>
public sealed class ContainerLifecycleTests(PodmanService podman) : IClassFixture<PodmanService>
{
    private Task<TestEngine> StartAsync() => TestEngine.StartAsync(configure: o => o.ContainerHost = podman.Host);

    private static string Sleeper(string name, string extra = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}}
        spec:
          entrypoint: main
          {{extra}}
          templates:
          - name: main
            container:
              image: {{PodmanService.Image}}
              command: [sh, -c, 'echo started; sleep 300']
              resources:
                limits: {cpu: 500m}
        """;

    private async Task<ContainerListResponse[]> ContainersOf(string workflow, bool running = false)
    {
        using var docker = ContainerEngine.Connect(podman.Host);
        var found = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = !running,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ContainerExecutor.WorkflowLabel}={workflow}"] = true } },
        });
        return [.. found];
    }

    private async Task<ContainerListResponse> RunningContainerOf(string workflow) =>
        await Eventually.Get(async () => (await ContainersOf(workflow, running: true)).FirstOrDefault(), $"the container of {workflow} to run");

    private static async Task<Workflow> WaitAsync(TestEngine t, Workflow wf)
    {
        using var cts = new CancellationTokenSource(TestEngine.Patience);
        return await t.Engine.WaitAsync(wf, cts.Token);
    }

    [Fact]
    public async Task A_steps_container_is_unprivileged_on_the_bridge_with_only_its_own_directories_and_terminate_kills_it()
    {
        await using var t = await StartAsync();
        var wf = await t.Engine.SubmitAsync(ManifestReader.Read(Sleeper("container-security"), "wf.yaml").OfType<Workflow>().Single(), []);
        var running = await RunningContainerOf("container-security");

        using (var docker = ContainerEngine.Connect(podman.Host))
        {
            var inspected = await docker.Containers.InspectContainerAsync(running.ID);
            inspected.HostConfig.ShouldNotBeNull();
            inspected.HostConfig.Privileged.ShouldBeFalse();
            inspected.HostConfig.NetworkMode.ShouldNotBe("host");
            inspected.HostConfig.PidMode.ShouldNotBe("host");
            inspected.HostConfig.SecurityOpt.ShouldNotBeNull().ShouldContain(o => o.Contains("no-new-privileges", StringComparison.Ordinal));
            (inspected.HostConfig.CapAdd ?? []).ShouldBeEmpty();
            var stepDir = Path.Combine(t.DataDir, "pods");
            foreach (var m in (inspected.Mounts ?? []).Where(m => m.Type == "bind"))
                m.Source.ShouldStartWith(stepDir, Case.Sensitive, $"{m.Source} mounted at {m.Destination} is not the step's own");
            inspected.Config!.Labels!.ShouldContainKey(ContainerExecutor.NodeLabel);
        }

        await new WorkflowControls(t.Engine.Store, TimeProvider.System).TerminateAsync(wf.NamespaceOrDefault, wf.Name);
        var done = await WaitAsync(t, wf);

        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        // The workflow ends as soon as its node does; the executor removes the killed container right after.
        await Eventually.Get(async () => (await ContainersOf("container-security")).Length == 0 ? "gone" : null, "the terminated step's container to be killed and removed");
    }

    [Fact]
    public async Task ActiveDeadlineSeconds_kills_the_container()
    {
        await using var t = await StartAsync();
        var wf = ManifestReader.Read(Sleeper("container-deadline"), "wf.yaml").OfType<Workflow>().Single();
        wf.Spec.Templates![0].ActiveDeadlineSeconds = "2";

        var done = await t.RunAsync(wf, []);

        var node = TestEngine.Node(done, "container-deadline");
        node.Phase.ShouldBe("Failed");
        node.Message.ShouldNotBeNull().ShouldContain("deadline");
        (await ContainersOf("container-deadline")).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_step_over_its_memory_limit_fails_with_OOMKilled()
    {
        await using var t = await StartAsync();

        var done = await t.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-oom}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'tail /dev/zero']
                  resources: {limits: {memory: 32Mi}}
            """);

        var node = TestEngine.Node(done, "container-oom");
        node.Phase.ShouldBe("Failed");
        node.Message.ShouldNotBeNull().ShouldStartWith("OOMKilled (exit code 137)");
    }

    [Fact]
    public async Task A_container_step_running_when_egw_serve_is_killed_is_adopted_after_the_restart_not_rerun()
    {
        await using var serve = await ServeProcess.StartAsync(extra: ["--executor", "container", "--container-host", podman.Host.ToString()]);
        using var http = serve.CreateClient();
        // Each run of the step prints an id of its own: a rerun would print another.
        var body = $$$$"""
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "container-survivor"},
              "spec": {"entrypoint": "main", "templates": [
                {"name": "main", "steps": [[{"name": "first", "template": "first"}], [{"name": "second", "template": "second"}]]},
                {"name": "first", "container": {"image": "{{{{PodmanService.Image}}}}", "command": ["sh", "-c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 8; echo first-done"]}},
                {"name": "second", "container": {"image": "{{{{PodmanService.Image}}}}", "command": ["echo", "second-done"]}}
              ]}}}
            """;
        (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();
        var before = await RunningContainerOf("container-survivor");
        var firstRun = await Eventually.Get(async () =>
            (await http.GetStringAsync("api/v1/workflows/default/container-survivor/log")).Split('\n').FirstOrDefault(l => l.Contains("run-", StringComparison.Ordinal)),
            "the first step to print its run id");

        serve.KillHard();
        (await ContainersOf("container-survivor", running: true)).Select(c => c.ID).ShouldContain(before.ID, "the step's container outlives the service");
        await serve.RestartAsync();

        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/container-survivor", Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the workflow to complete after the restart", TestEngine.Patience);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        var log = await http.GetStringAsync("api/v1/workflows/default/container-survivor/log");
        log.Split('\n').Count(l => l.Contains("run-", StringComparison.Ordinal)).ShouldBe(1, log);
        log.ShouldContain(firstRun.Split(' ').Last(), Case.Sensitive, "the adopted container's own output");
        log.ShouldContain("first-done");
        log.ShouldContain("second-done");
        (await ContainersOf("container-survivor")).ShouldBeEmpty("finished steps' containers are removed");
    }

    [Fact]
    public async Task A_pods_network_survives_a_restart_of_egw_serve_its_infra_container_is_adopted_with_its_containers()
    {
        await using var serve = await ServeProcess.StartAsync(extra: ["--executor", "container", "--container-host", podman.Host.ToString()]);
        using var http = serve.CreateClient();
        // The server listens on the pod's 127.0.0.1; main asks it after the restart, so the network must be the same one.
        var body = $$$$"""
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "container-pod-survivor"},
              "spec": {"entrypoint": "main", "templates": [
                {"name": "main", "volumes": [{"name": "shared", "emptyDir": {}}], "containerSet": {
                  "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                  "containers": [
                    {"name": "server", "image": "{{{{PodmanService.Image}}}}", "command": ["sh", "-c", "mkdir -p /www; echo from-server > /www/index.html; httpd -p 127.0.0.1:18093 -h /www; until [ -f /shared/done ]; do sleep 0.1; done"]},
                    {"name": "main", "image": "{{{{PodmanService.Image}}}}", "command": ["sh", "-c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 8; wget -q -O - http://127.0.0.1:18093/; s=$?; touch /shared/done; exit $s"]}
                  ]}}
              ]}}}
            """;
        (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();
        var infra = await Eventually.Get(async () =>
            (await ContainersOf("container-pod-survivor", running: true)).FirstOrDefault(c => c.Labels is { } labels && labels.TryGetValue(ContainerExecutor.PodLabel, out var v) && v == "infra"),
            "the pod's infra container to run");
        await Eventually.Get(async () =>
            (await http.GetStringAsync("api/v1/workflows/default/container-pod-survivor/log")).Split('\n').FirstOrDefault(l => l.Contains("run-", StringComparison.Ordinal)),
            "main to print its run id");

        serve.KillHard();
        await serve.RestartAsync();

        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/container-pod-survivor", Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the workflow to complete after the restart", TestEngine.Patience);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var log = await http.GetStringAsync("api/v1/workflows/default/container-pod-survivor/log");
        log.Split('\n').Count(l => l.Contains("run-", StringComparison.Ordinal)).ShouldBe(1, log);
        log.ShouldContain("from-server");
        (await ContainersOf("container-pod-survivor")).Select(c => c.ID).ShouldNotContain(infra.ID, "the adopted infra container is removed with the pod");
        (await ContainersOf("container-pod-survivor")).ShouldBeEmpty();
    }

    [Fact]
    public async Task Deleting_a_workflow_removes_a_running_pods_containers_and_its_infra_container()
    {
        await using var t = await StartAsync();
        var wf = await t.Engine.SubmitAsync(ManifestReader.Read($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-pod-deleted}
            spec:
              entrypoint: main
              templates:
              - name: main
                containerSet:
                  containers:
                  - {name: a, image: {{PodmanService.Image}}, command: [sleep, "300"]}
                  - {name: main, image: {{PodmanService.Image}}, command: [sleep, "300"]}
            """, "wf.yaml").OfType<Workflow>().Single(), []);
        // Both containers and the infra container run.
        await Eventually.Get(async () => (await ContainersOf("container-pod-deleted", running: true)).Length == 3 ? "all" : null, "the pod's containers to run");

        var deleter = new EventGateway.Workflows.Retention.WorkflowDeleter(t.Engine.Store, t.Engine.Executor, new EventGateway.Workflows.Artifacts.LocalArtifactRepository(t.DataDir));
        (await deleter.DeleteAsync(wf.NamespaceOrDefault, wf.Name, CancellationToken.None)).ShouldBeTrue();

        await Eventually.Get(async () => (await ContainersOf("container-pod-deleted")).Length == 0 ? "gone" : null, "the pod's containers and its infra container to be removed");
    }

    [Fact]
    public async Task A_step_cannot_reach_the_hosts_loopback_where_the_API_listens()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        await using var t = await StartAsync();

        var done = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-loopback}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: {{PodmanService.Image}}
                  command: [sh, -c, 'if nc -w 3 127.0.0.1 {{port}} </dev/null; then echo reached; else echo unreachable; fi']
            """);

        t.Logs(done, TestEngine.Node(done, "container-loopback")).ShouldBe("unreachable\n");
    }

    [Fact]
    public async Task RunAsNonRoot_refuses_a_step_that_would_run_as_root_and_runs_one_that_would_not()
    {
        await using var t = await StartAsync();

        var done = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-nonroot}
            spec:
              entrypoint: main
              securityContext: {runAsNonRoot: true}
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: image-root, template: image-root}
                  - {name: as-nobody, template: as-nobody}
              - name: image-root
                container: {image: {{PodmanService.Image}}, command: [id, -u]}
              - name: as-nobody
                container: {image: {{PodmanService.Image}}, command: [id, -u], securityContext: {runAsUser: 65534} }
            """);

        var root = TestEngine.Node(done, "image-root");
        root.Phase.ShouldBe("Error");
        root.Message.ShouldNotBeNull().ShouldContain($"container has runAsNonRoot and image '{PodmanService.Image}' will run as root");
        t.Logs(done, TestEngine.Node(done, "as-nobody")).ShouldBe("65534\n");
    }

    [Fact]
    public async Task Deleting_a_workflow_removes_its_steps_containers_and_only_its_own()
    {
        await using var t = await StartAsync();
        await using var other = await StartAsync(); // another service on the same engine, with a workflow of the same name
        var wf = await t.Engine.SubmitAsync(ManifestReader.Read(Sleeper("container-deleted"), "wf.yaml").OfType<Workflow>().Single(), []);
        await other.Engine.SubmitAsync(ManifestReader.Read(Sleeper("container-deleted"), "wf.yaml").OfType<Workflow>().Single(), []);
        await Eventually.Get(async () => (await ContainersOf("container-deleted", running: true)).Length == 2 ? "both" : null, "both services' containers to run");

        var pod = (await t.Engine.Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name))!.Status!.Nodes!.Values.Single(n => n.Type == "Pod");
        var deleted = "/" + ((ContainerExecutor)t.Engine.Executor).ContainerName(new StepKey(wf.NamespaceOrDefault, wf.Name, pod.Id));
        (await ContainersOf("container-deleted")).SelectMany(c => c.Names ?? []).ShouldContain(deleted);
        var deleter = new EventGateway.Workflows.Retention.WorkflowDeleter(t.Engine.Store, t.Engine.Executor, new EventGateway.Workflows.Artifacts.LocalArtifactRepository(t.DataDir));
        (await deleter.DeleteAsync(wf.NamespaceOrDefault, wf.Name, CancellationToken.None)).ShouldBeTrue();

        var left = await Eventually.Get(async () => await ContainersOf("container-deleted") is { Length: 1 } one ? one : null, "the deleted workflow's container to be removed");
        (left[0].Names ?? []).ShouldNotContain(deleted);
        await new WorkflowControls(other.Engine.Store, TimeProvider.System).TerminateAsync(wf.NamespaceOrDefault, wf.Name);
        await Eventually.Get(async () => (await ContainersOf("container-deleted")).Length == 0 ? "gone" : null, "the other service's container to end");
    }
}
