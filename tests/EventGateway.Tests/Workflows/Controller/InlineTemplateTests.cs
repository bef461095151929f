using Shouldly;
using EventGateway.Model;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// <c>inline</c> templates in steps and DAG tasks (Argo's steps-inline-workflow.yaml and dag-inline-workflow.yaml),
/// and what a step whose image would supply the command (argoproj/argosay) is told: the local executor runs
/// commands, not images, so it names the step and says what to write.
/// </summary>
public sealed class InlineTemplateTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime");

    private static string NoCommand(string step, string container, string image) =>
        $"step '{step}': container '{container}' of image '{image}' has no command, and the local executor cannot know an image's entrypoint " +
        "(it runs commands on the host, not images): give the container a `command` (its `args` are appended to it). " +
        "To run the image's own entrypoint, use the container executor (--executor container)";

    [Fact]
    public async Task Inline_templates_in_steps_and_tasks_take_arguments_and_give_outputs()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: inline}
            spec:
              entrypoint: main
              templates:
                - name: main
                  steps:
                    - - name: a
                        arguments: {parameters: [{name: msg, value: hi}]}
                        inline:
                          inputs: {parameters: [{name: msg}]}
                          outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
                          container: {image: busybox, command: [sh, -c, 'echo "{{inputs.parameters.msg}}" | tee /tmp/out']}
                    - - name: b
                        arguments: {parameters: [{name: from-a, value: "{{steps.a.outputs.parameters.out}}"}]}
                        inline:
                          inputs: {parameters: [{name: from-a}]}
                          dag:
                            tasks:
                              - name: c
                                inline: {script: {image: busybox, command: [sh], source: echo from-c}}
                              - name: d
                                depends: c
                                arguments: {parameters: [{name: x, value: "{{tasks.c.outputs.result}} and {{inputs.parameters.from-a}}"}]}
                                inline:
                                  inputs: {parameters: [{name: x}]}
                                  container: {image: busybox, command: [echo, "{{inputs.parameters.x}}"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "d")).Trim().ShouldBe("from-c and hi");
        TestEngine.Node(wf, "a").Outputs!.Parameters.ShouldHaveSingleItem().Value.ShouldBe("hi");
    }

    [Theory]
    [InlineData("steps-inline-workflow.yaml", "[0].a")]
    [InlineData("dag-inline-workflow.yaml", ".a")]
    public async Task Argos_inline_examples_end_with_the_step_named_and_what_to_do(string file, string step)
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures, file)));

        var a = TestEngine.Node(wf, "a");
        a.Phase.ShouldBe(NodePhase.Error);
        a.Message.ShouldBe(NoCommand(wf.Name + step, "main", "argoproj/argosay:v2"));
    }

    [Fact]
    public async Task A_container_set_names_the_container_without_a_command()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures, "container-set-sequence-workflow.yaml")));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(wf, wf.Name).Message.ShouldBe(NoCommand(wf.Name, "a", "argoproj/argosay:v2"));
    }
}
