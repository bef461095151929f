using EventGateway.Model;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// Steps' networks under the container executor, through a real Podman: a daemon is probed at its container's address
/// on the engine's bridge, and later steps reach it there ({{steps.NAME.ip}}).
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
    }
}
