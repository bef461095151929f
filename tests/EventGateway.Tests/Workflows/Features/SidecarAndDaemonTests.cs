using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Workflows.Features;

/// <summary>
/// sidecars and daemon steps through the real engine: sandboxed processes in the workflow's network namespace, with
/// python3's http.server standing in for the influxdb and nginx of Argo's examples (the host has neither).
/// </summary>
public sealed class SidecarAndDaemonTests
{
    /// <summary>Polls a URL from inside a step until it answers, as Argo's sidecar examples do with curl.</summary>
    private const string WaitFor = "import urllib.request,time\\nfor i in range(1200):\\n  try:\\n    print(urllib.request.urlopen(URL).status); break\\n  except Exception: time.sleep(0.05)\\nelse: raise SystemExit('never answered')";

    private static string Exit(TestEngine t, Workflow wf, string nodeId) =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(t.Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, nodeId), "stdout"))!, "exitcode")).Trim();

    private static string SidecarLog(TestEngine t, Workflow wf, NodeStatus pod, string sidecar, string stream) =>
        File.ReadAllText(t.Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, $"{pod.Id}/{sidecar}"), stream));

    [Fact]
    public async Task A_sidecar_serves_main_on_localhost_and_is_stopped_with_SIGTERM_when_main_ends()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: sidecar}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: python:3
                  command: [python3, -c, "{{WaitFor.Replace("URL", "'http://127.0.0.1:18081/'")}}"]
                sidecars:
                - name: web
                  image: python:3
                  command: [python3, -m, http.server, "18081", --bind, 127.0.0.1]
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "sidecar");
        t.Logs(wf, pod).Trim().ShouldBe("200");
        // The sidecar's own log, beside main's: it served main's request.
        SidecarLog(t, wf, pod, "web", "stderr").ShouldContain("\"GET / HTTP/1.1\" 200");
        // It ended when main did, by SIGTERM (128 + 15), not by the SIGKILL that follows a grace period.
        Exit(t, wf, $"{pod.Id}/web").ShouldBe("143");
        // Sidecars are no nodes of their own, as in Argo.
        wf.Status.Nodes!.Count.ShouldBe(1);
    }

    [Fact]
    public async Task The_pod_phase_is_mains_whatever_its_sidecars_do()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: sidecar-fails}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: alpine, command: [sh, -c, "echo main; exit 3"]}
                sidecars:
                - {name: crashes, image: alpine, command: [sh, -c, "echo sidecar; exit 1"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "sidecar-fails").Message.ShouldBe("Error (exit code 3)");

        var ok = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: sidecar-crashes}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: alpine, command: [sh, -c, "sleep 0.5; echo main"]}
                sidecars:
                - {name: crashes, image: alpine, command: [sh, -c, "echo sidecar; exit 1"]}
            """);
        ok.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, ok.Status.Message);
        SidecarLog(t, ok, TestEngine.Node(ok, "sidecar-crashes"), "crashes", "stdout").Trim().ShouldBe("sidecar");
    }

    [Fact]
    public async Task A_sidecar_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: sidecar-stubborn}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: python:3
                  command: [python3, -c, "import socket,time\nfor i in range(1200):\n  try: socket.create_connection(('127.0.0.1', 18090)).close(); break\n  except OSError: time.sleep(0.05)"]
                sidecars:
                - name: stubborn
                  image: python:3
                  # Listens only once SIGTERM is ignored, so main ends (and the sidecar is stopped) after that.
                  command: [python3, -c, "import signal,socket,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ns = socket.socket()\ns.bind(('127.0.0.1', 18090))\ns.listen()\nwhile True: time.sleep(1)"]
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        // Killed with its whole process group (launcher included, so no exit code is recorded), once the grace was over.
        var dir = Path.GetDirectoryName(t.Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, $"{TestEngine.Node(wf, "sidecar-stubborn").Id}/stubborn"), "stdout"))!;
        File.Exists(Path.Combine(dir, "killed")).ShouldBeTrue();
        File.Exists(Path.Combine(dir, "exitcode")).ShouldBeFalse();
        var pid = int.Parse(File.ReadAllText(Path.Combine(dir, "pid")));
        Directory.Exists($"/proc/{pid}").ShouldBeFalse("the sidecar's launcher is gone");
        (wf.Status.FinishedAt!.Value - TestEngine.Node(wf, "sidecar-stubborn").StartedAt!.Value).ShouldBeGreaterThanOrEqualTo(EventGateway.Workflows.Controller.PodSidecars.Grace - TimeSpan.FromSeconds(1));
    }

    /// <summary>Argo's daemon-step.yaml, with python's http.server for influxdb: later steps reach it at {{steps.influx.ip}}.</summary>
    [Fact]
    public async Task A_daemon_step_serves_the_later_steps_of_its_scope_and_is_stopped_and_Succeeded_when_the_scope_ends()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: daemon-step}
            spec:
              entrypoint: daemon-example
              templates:
              - name: daemon-example
                steps:
                - - name: influx
                    template: influxdb
                - - name: producer-1
                    template: client
                    arguments: {parameters: [{name: url, value: "http://{{steps.influx.ip}}:18086/"}]}
                  - name: producer-2
                    template: client
                    arguments: {parameters: [{name: url, value: "http://{{steps.influx.ip}}:18086/"}]}
                - - name: consumer
                    template: client
                    arguments: {parameters: [{name: url, value: "http://{{steps.influx.ip}}:18086/"}]}
              - name: influxdb
                daemon: true
                container:
                  image: influxdb:1.2
                  command: [sh, -c, "sleep 1; exec python3 -m http.server 18086"]
                  readinessProbe:
                    httpGet: {path: /, port: 18086}
                    periodSeconds: 1
                    timeoutSeconds: 10
              - name: client
                inputs: {parameters: [{name: url}]}
                container:
                  image: curlimages/curl:latest
                  command: [python3, -c, "import urllib.request; print(urllib.request.urlopen('{{inputs.parameters.url}}').status)"]
            """);

        // Without the probe the clients (which do not retry) would run before the server listens, and fail.
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        foreach (var client in (string[])["producer-1", "producer-2", "consumer"])
            t.Logs(wf, TestEngine.Node(wf, client)).Trim().ShouldBe("200");
        var daemon = TestEngine.Node(wf, "influx");
        daemon.Phase.ShouldBe(NodePhase.Succeeded);
        daemon.Daemoned.ShouldBeNull();
        daemon.PodIP.ShouldBe("127.0.0.1");
        // It ran until its scope ended: after the consumer finished.
        daemon.FinishedAt!.Value.ShouldBeGreaterThanOrEqualTo(TestEngine.Node(wf, "consumer").FinishedAt!.Value);
        // And it was stopped (SIGTERM), not left running.
        var exit = await Eventually.Get(async () =>
        {
            await Task.Yield();
            try { return Exit(t, wf, daemon.Id); }
            catch (IOException) { return null; }
        }, "the daemon's process to end");
        exit.ShouldBe("143");
    }

    /// <summary>Argo's dag-daemon-task.yaml shape with an exec probe: a task depending on the daemon starts once it is ready.</summary>
    [Fact]
    public async Task A_daemon_task_with_an_exec_probe_is_addressed_by_tasks_ip_from_dependent_tasks()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: dag-daemon}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: server, template: server}
                  - name: client
                    depends: server
                    template: client
                    arguments: {parameters: [{name: ip, value: "{{tasks.server.ip}}"}]}
                  - {name: after, depends: client, template: after}
              - name: server
                daemon: true
                container:
                  image: python:3
                  command: [sh, -c, "sleep 1; exec python3 -m http.server 18087"]
                  readinessProbe:
                    exec: {command: [python3, -c, "import urllib.request; urllib.request.urlopen('http://127.0.0.1:18087/')"]}
                    periodSeconds: 1
                    timeoutSeconds: 20
              - name: client
                inputs: {parameters: [{name: ip}]}
                container:
                  image: python:3
                  command: [python3, -c, "import urllib.request; print(urllib.request.urlopen('http://{{inputs.parameters.ip}}:18087/').status)"]
              - name: after
                container: {image: alpine, command: [echo, done]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "client")).Trim().ShouldBe("200");
        TestEngine.Node(wf, "server").Phase.ShouldBe(NodePhase.Succeeded);
        TestEngine.Node(wf, "after").Phase.ShouldBe(NodePhase.Succeeded);
    }
}
