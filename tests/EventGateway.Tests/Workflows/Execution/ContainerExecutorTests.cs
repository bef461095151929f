using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// Steps in their images through a real Podman (its Docker-compatible API): the image's ENTRYPOINT and CMD apply as on
/// Kubernetes, where `command` replaces the entrypoint and `args` the cmd.
/// </summary>
public sealed class ContainerExecutorTests(PodmanService podman) : IClassFixture<PodmanService>
{
    private Task<TestEngine> StartAsync() => TestEngine.StartAsync(configure: o => o.ContainerHost = podman.Host);

    [Fact]
    public async Task A_container_without_command_runs_its_images_entrypoint_and_cmd()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: image-entrypoint}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: {{PodmanService.Image}}
            """);

        wf.Status!.Phase.ShouldBe("Succeeded", string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        engine.Logs(wf, TestEngine.Node(wf, "image-entrypoint")).ShouldBe("entrypoint: default-cmd\n");
    }

    [Fact]
    public async Task Args_replace_the_images_cmd_command_replaces_both_and_an_exit_code_fails_the_step()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: image-command-args}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: args, template: args}
                  - {name: command, template: command}
                  - {name: fails, template: fails}
              - name: args
                container:
                  image: {{PodmanService.Image}}
                  args: [from-args]
              - name: command
                container:
                  image: {{PodmanService.Image}}
                  command: [sh, -c, 'echo "$GREETING from $(pwd)"']
                  workingDir: /tmp
                  env: [{name: GREETING, value: hello}]
              - name: fails
                container:
                  image: {{PodmanService.Image}}
                  command: [sh, -c, 'echo oops >&2; exit 3']
            """);

        wf.Status!.Phase.ShouldBe("Failed");
        engine.Logs(wf, TestEngine.Node(wf, "args")).ShouldBe("entrypoint: from-args\n");
        engine.Logs(wf, TestEngine.Node(wf, "command")).ShouldBe("hello from /tmp\n");
        var fails = TestEngine.Node(wf, "fails");
        fails.Phase.ShouldBe("Failed");
        fails.Message.ShouldNotBeNull().ShouldContain("exit code 3");
        engine.Logs(wf, fails, "stderr").ShouldBe("oops\n");
    }
}
