using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// Steps' networks under the container executor, through a real Podman: a pod's containers share one network (its
/// infra container's), as in Kubernetes; a daemon is probed at its address on the engine's bridge, and later steps
/// reach it there ({{steps.NAME.ip}}).
/// </summary>
public sealed class ContainerNetworkTests(PodmanService podman) : IClassFixture<PodmanService>
{
    private Task<TestEngine> StartAsync() => TestEngine.StartAsync(configure: o => o.ContainerHost = podman.Host);

    [Fact]
    public async Task A_daemon_step_is_ready_once_its_probe_passes_and_later_steps_reach_it_at_its_ip()
    {
        await using var engine = await StartAsync();

        // The server starts listening only after a while: without the probe the client (which does not retry) would fail.
        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-daemon}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: server, template: server}
                - - name: client
                    template: client
                    arguments: {parameters: [{name: ip, value: "{{steps.server.ip}}"}]}
              - name: server
                daemon: true
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'mkdir -p /www; echo served > /www/index.html; sleep 2; exec httpd -f -p 18090 -h /www']
                  readinessProbe:
                    httpGet: {path: /, port: 18090}
                    periodSeconds: 1
                    timeoutSeconds: 5
              - name: client
                inputs: {parameters: [{name: ip}]}
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'wget -q -O - http://{{inputs.parameters.ip}}:18090/']
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        engine.Logs(wf, TestEngine.Node(wf, "client")).ShouldBe("served\n");
        var server = TestEngine.Node(wf, "server");
        server.PodIP.ShouldNotBeNull().ShouldNotBe("127.0.0.1");
        System.Net.IPAddress.TryParse(server.PodIP, out _).ShouldBeTrue(server.PodIP);
        await StoppedAndRemovedAsync(engine, wf, server.Id);
    }

    [Fact]
    public async Task A_daemons_exec_probe_runs_in_the_daemons_network()
    {
        await using var engine = await StartAsync();

        // The server listens on 127.0.0.1 only: the probe passes only from inside the daemon's pod network.
        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-daemon-exec}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: server, template: server}
                - - {name: after, template: after}
              - name: server
                daemon: true
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'mkdir -p /www; echo served > /www/index.html; sleep 1; exec httpd -f -p 127.0.0.1:18094 -h /www']
                  readinessProbe:
                    exec: {command: [wget, -q, -O, /dev/null, 'http://127.0.0.1:18094/']}
                    periodSeconds: 1
                    timeoutSeconds: 20
              - name: after
                container: {image: {{{PodmanService.Image}}}, command: [echo, done]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        engine.Logs(wf, TestEngine.Node(wf, "after")).ShouldBe("done\n");
        await StoppedAndRemovedAsync(engine, wf, TestEngine.Node(wf, "server").Id);
    }

    [Fact]
    public async Task A_containerSets_containers_reach_each_other_on_127_0_0_1_and_the_pods_infra_container_goes_with_it()
    {
        await using var engine = await StartAsync();

        // The server listens on 127.0.0.1 only: reachable from the other container only through a shared network namespace.
        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-set-network}
            spec:
              entrypoint: main
              templates:
              - name: main
                volumes: [{name: shared, emptyDir: {}}]
                containerSet:
                  volumeMounts: [{name: shared, mountPath: /shared}]
                  containers:
                  - name: server
                    image: {{{PodmanService.Image}}}
                    command: [sh, -c, 'mkdir -p /www; echo from-server > /www/index.html; httpd -p 127.0.0.1:18091 -h /www; until [ -f /shared/done ]; do sleep 0.1; done']
                  - name: main
                    image: {{{PodmanService.Image}}}
                    command: [sh, -c, 'for i in $(seq 1 300); do if wget -q -O - http://127.0.0.1:18091/; then touch /shared/done; exit 0; fi; sleep 0.1; done; touch /shared/done; exit 1']
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        engine.Logs(wf, TestEngine.Node(wf, "main")).ShouldBe("from-server\n");
        var infra = ((ContainerExecutor)engine.Engine.Executor).InfraName(new StepKey(wf.NamespaceOrDefault, wf.Name, TestEngine.Node(wf, "container-set-network").Id));
        (await PodmanService.ContainerExistsAsync(infra)).ShouldBeFalse("the pod's infra container is removed with the pod");
    }

    [Fact]
    public async Task A_containerSets_containers_that_run_one_after_another_are_in_the_same_network()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-set-sequence}
            spec:
              entrypoint: main
              templates:
              - name: main
                containerSet:
                  containers:
                  - name: first
                    image: {{{PodmanService.Image}}}
                    command: [cat, /sys/class/net/eth0/address]
                  - name: main
                    image: {{{PodmanService.Image}}}
                    command: [cat, /sys/class/net/eth0/address]
                    dependencies: [first]
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var first = engine.Logs(wf, TestEngine.Node(wf, "first"));
        first.ShouldNotBeNullOrWhiteSpace();
        engine.Logs(wf, TestEngine.Node(wf, "main")).ShouldBe(first, "one network interface: the pod's");
    }

    [Fact]
    public async Task A_sidecar_is_reached_by_main_on_127_0_0_1_and_stops_when_main_ends()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: container-sidecar}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'for i in $(seq 1 300); do wget -q -O - http://127.0.0.1:18092/ && exit 0; sleep 0.1; done; exit 1']
                sidecars:
                - name: web
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'trap "exit 0" TERM; mkdir -p /www; echo from-sidecar > /www/index.html; httpd -p 127.0.0.1:18092 -h /www; while true; do sleep 0.1; done']
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var pod = TestEngine.Node(wf, "container-sidecar");
        engine.Logs(wf, pod).ShouldBe("from-sidecar\n");
        var executor = (ContainerExecutor)engine.Engine.Executor;
        var key = new StepKey(wf.NamespaceOrDefault, wf.Name, pod.Id);
        // Main's end stopped the sidecar (its container is gone), and the pod's network with it.
        (await PodmanService.ContainerExistsAsync(executor.ContainerName(key with { NodeId = $"{pod.Id}/web" }))).ShouldBeFalse();
        (await PodmanService.ContainerExistsAsync(executor.InfraName(key))).ShouldBeFalse();
    }

    /// <summary>The daemon was stopped when its scope ended, and its container and its pod's infra container removed.</summary>
    private static async Task StoppedAndRemovedAsync(TestEngine engine, Workflow wf, string nodeId)
    {
        var executor = (ContainerExecutor)engine.Engine.Executor;
        var key = new StepKey(wf.NamespaceOrDefault, wf.Name, nodeId);
        foreach (var name in new[] { executor.ContainerName(key), executor.InfraName(key) })
            await Eventually.Get(async () => await PodmanService.ContainerExistsAsync(name) ? null : "gone", $"container {name} to be removed");
    }
}
