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

    [Fact]
    public async Task Outputs_are_copied_out_of_the_container_after_exit_and_scripts_and_input_artifacts_go_in()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: image-outputs}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: produce, template: produce}
                - - name: consume
                    template: consume
                    arguments:
                      parameters: [{name: word, value: "{{steps.produce.outputs.parameters.word}}"}]
                      artifacts: [{name: tree, from: "{{steps.produce.outputs.artifacts.tree}}"}]
              - name: produce
                script:
                  image: {{{PodmanService.Image}}}
                  command: [sh]
                  source: |
                    echo -n container-word > /tmp/word
                    mkdir -p /out/tree/sub
                    echo leaf > /out/tree/sub/leaf.txt
                    ln -s sub/leaf.txt /out/tree/inside-link
                    echo script-result
                outputs:
                  parameters: [{name: word, valueFrom: {path: /tmp/word}}]
                  artifacts: [{name: tree, path: /out/tree}]
              - name: consume
                inputs:
                  parameters: [{name: word}]
                  artifacts: [{name: tree, path: /in/tree}]
                container:
                  image: {{{PodmanService.Image}}}
                  command: [sh, -c, 'echo "{{inputs.parameters.word}} $(cat /in/tree/sub/leaf.txt) $(cat /in/tree/inside-link)"']
            """);

        wf.Status!.Phase.ShouldBe("Succeeded", string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var produce = TestEngine.Node(wf, "produce");
        produce.Outputs!.Result.ShouldBe("script-result");
        produce.Outputs.Parameters!.Single().Value.ShouldBe("container-word");
        engine.Logs(wf, TestEngine.Node(wf, "consume")).ShouldBe("container-word leaf leaf\n");
    }

    [Fact]
    public async Task An_output_never_follows_a_link_out_of_the_steps_root_to_the_host()
    {
        await using var engine = await StartAsync();
        // A file only the host has: a link to its path must not read it.
        var secret = Path.Combine(Path.GetTempPath(), $"egw-host-secret-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(secret, "host secret");
        try
        {
            var wf = await engine.RunYamlAsync($$$"""
                apiVersion: argoproj.io/v1alpha1
                kind: Workflow
                metadata: {name: image-output-links}
                spec:
                  entrypoint: main
                  templates:
                  - name: main
                    dag:
                      tasks:
                      - {name: param-link, template: param-link}
                      - {name: tree-link, template: tree-link}
                  - name: param-link
                    container:
                      image: {{{PodmanService.Image}}}
                      command: [sh, -c, 'ln -s {{{secret}}} /tmp/leak; ln -s ../../../../../..{{{secret}}} /tmp/up']
                    outputs:
                      parameters:
                      - {name: leak, valueFrom: {path: /tmp/leak, default: not-followed}}
                      - {name: up, valueFrom: {path: /tmp/up, default: not-followed}}
                  - name: tree-link
                    container:
                      image: {{{PodmanService.Image}}}
                      command: [sh, -c, 'mkdir -p /out/tree; ln -s {{{secret}}} /out/tree/leak']
                    outputs:
                      artifacts: [{name: tree, path: /out/tree}]
                """);

            var param = TestEngine.Node(wf, "param-link");
            param.Outputs!.Parameters!.ShouldAllBe(p => p.Value != "host secret");
            var tree = TestEngine.Node(wf, "tree-link");
            tree.Phase.ShouldBe("Error");
            tree.Message.ShouldNotBeNull().ShouldContain("outside the output");
        }
        finally { File.Delete(secret); }
    }

    [Fact]
    public async Task ImagePullPolicy_decides_whether_an_image_is_pulled_and_a_pull_that_fails_says_why_in_the_node()
    {
        await using var engine = await StartAsync();

        var wf = await engine.RunYamlAsync($$$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: registry-cred}
            type: kubernetes.io/dockerconfigjson
            stringData:
              .dockerconfigjson: '{"auths": {"127.0.0.1:1": {"auth": "dXNlcjpwYXNz"}}}'
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: image-pull-policy}
            spec:
              entrypoint: main
              imagePullSecrets: [{name: missing-cred}, {name: registry-cred}]
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: present, template: present}
                  - {name: never-missing, template: never-missing}
                  - {name: always-unreachable, template: always-unreachable}
                  - {name: bad-policy, template: bad-policy}
              - name: present
                container: {image: {{{{PodmanService.Image}}}}, imagePullPolicy: IfNotPresent, args: [was-present]}
              - name: never-missing
                container: {image: egw-test/never-built:1, imagePullPolicy: Never, command: ["true"]}
              - name: always-unreachable
                container: {image: 127.0.0.1:1/egw-test/unreachable:1, imagePullPolicy: Always, command: ["true"]}
              - name: bad-policy
                container: {image: {{{{PodmanService.Image}}}}, imagePullPolicy: Sometimes, command: ["true"]}
            """);

        engine.Logs(wf, TestEngine.Node(wf, "present")).ShouldBe("entrypoint: was-present\n");
        var never = TestEngine.Node(wf, "never-missing");
        never.Phase.ShouldBe("Error");
        never.Message.ShouldNotBeNull().ShouldContain("image 'egw-test/never-built:1' is not present in the container engine and imagePullPolicy is Never");
        var always = TestEngine.Node(wf, "always-unreachable");
        always.Phase.ShouldBe("Error");
        // The registry's credentials came from the store's Secret (the missing one is passed over, as the kubelet does).
        always.Message.ShouldNotBeNull().ShouldContain("cannot pull image '127.0.0.1:1/egw-test/unreachable:1' (imagePullPolicy Always, credentials for 127.0.0.1:1)");
        var bad = TestEngine.Node(wf, "bad-policy");
        bad.Phase.ShouldBe("Error");
        bad.Message.ShouldNotBeNull().ShouldContain("imagePullPolicy 'Sometimes' is not one of Always, IfNotPresent, Never");
    }
}
