using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// What Argo's examples showed missing (issue 12): WorkflowTemplates whose entrypoint inputs come from the workflow,
/// parameters from ConfigMaps, a dag.target given as a parameter, workflowMetadata.labelsFrom, podResources, and
/// volumes (emptyDir, volumeClaimTemplates, PersistentVolumeClaims). Real engine, real sandboxed steps.
/// </summary>
public sealed class ArgoExampleGapsTests
{
    private const string PrintTemplate = """
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: print}
        spec:
          entrypoint: print-message
          templates:
          - name: print-message
            inputs: {parameters: [{name: message}]}
            container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
        """;

    [Fact]
    public async Task A_WorkflowTemplate_may_leave_its_entrypoint_input_to_the_workflow_which_is_checked_at_submit()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync(ManifestReader.Read(PrintTemplate, "print.yaml"));

        // Supplied by the workflow that refers to it: runs.
        var ok = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: by-ref}
            spec:
              arguments: {parameters: [{name: message, value: from the workflow}]}
              workflowTemplateRef: {name: print}
            """);
        ok.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, ok.Status.Message);
        t.Logs(ok, TestEngine.Node(ok, "by-ref")).ShouldBe("from the workflow\n");

        // Not supplied, by workflowTemplateRef or by a templateRef call: refused at submit, naming the input; nothing stored.
        var byRef = await Should.ThrowAsync<ManifestException>(() => t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: missing-by-ref}
            spec:
              workflowTemplateRef: {name: print}
            """));
        byRef.Message.ShouldContain("spec.arguments.parameters: input parameter 'message' of template 'print-message' has no value, default or argument");
        var byCall = await Should.ThrowAsync<ManifestException>(() => t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: missing-by-call}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: call
                    templateRef: {name: print, template: print-message}
            """));
        byCall.Message.ShouldContain("spec.templates[0].steps[0][0].arguments.parameters: input parameter 'message' of template 'print-message' has no value, default or argument");
        (await t.Engine.Store.ListAsync<Workflow>()).Select(w => w.Name).ShouldBe(["by-ref"]);
    }

    private const string Parameters = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: simple-parameters
          labels: {workflows.argoproj.io/configmap-type: Parameter}
        data: {msg: hello from the configmap}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: unlabelled
        data: {msg: never read}
        ---

        """;

    [Fact]
    public async Task Parameters_come_from_labelled_ConfigMaps_for_arguments_inputs_and_globals()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Parameters + """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: from-configmaps}
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: global
                  valueFrom: {configMapKeyRef: {name: simple-parameters, key: msg}}
                - {name: which, value: simple-parameters}
              templates:
              - name: main
                steps:
                - - name: input
                    template: echo
                  - name: argument
                    template: echo
                    arguments:
                      parameters:
                      - name: message
                        valueFrom: {configMapKeyRef: {name: "{{workflow.parameters.which}}", key: msg}}
                  - name: fallback
                    template: echo
                    arguments:
                      parameters:
                      - name: message
                        valueFrom: {configMapKeyRef: {name: simple-parameters, key: nothing}, default: the default}
                  - name: global
                    template: echo
                    arguments: {parameters: [{name: message, value: "global {{workflow.parameters.global}}"}]}
              - name: echo
                inputs:
                  parameters:
                  - name: message
                    valueFrom: {configMapKeyRef: {name: simple-parameters, key: msg}}
                container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "input")).ShouldBe("hello from the configmap\n");
        t.Logs(wf, TestEngine.Node(wf, "argument")).ShouldBe("hello from the configmap\n");
        t.Logs(wf, TestEngine.Node(wf, "fallback")).ShouldBe("the default\n");
        t.Logs(wf, TestEngine.Node(wf, "global")).ShouldBe("global hello from the configmap\n");
    }

    [Theory]
    [InlineData("missing", "msg", "unable to retrieve inputs.parameters.message from ConfigMap: ConfigMap 'missing' does not exist")]
    [InlineData("unlabelled", "msg", "unable to retrieve inputs.parameters.message from ConfigMap: ConfigMap 'unlabelled' does not exist. Please make sure it has the label workflows.argoproj.io/configmap-type: Parameter")]
    [InlineData("simple-parameters", "nothing", "unable to retrieve inputs.parameters.message from ConfigMap: ConfigMap 'simple-parameters' does not have the key 'nothing'")]
    public async Task A_parameter_whose_ConfigMap_value_is_missing_errors_its_node_saying_which(string name, string key, string message)
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Parameters + $$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: missing-value}
            spec:
              entrypoint: echo
              templates:
              - name: echo
                inputs:
                  parameters:
                  - name: message
                    valueFrom: {configMapKeyRef: {name: {{{name}}}, key: {{{key}}}}}
                container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(wf, "missing-value").Message!.ShouldStartWith(message);
    }

    [Fact]
    public async Task A_workflow_parameter_without_its_ConfigMap_ends_the_workflow_in_Error()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: missing-global}
            spec:
              entrypoint: echo
              arguments:
                parameters:
                - name: message
                  valueFrom: {configMapKeyRef: {name: nowhere, key: msg}}
              templates:
              - name: echo
                container: {image: busybox, command: [echo, "{{workflow.parameters.message}}"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        wf.Status.Message!.ShouldStartWith("failed to set global parameter message from configmap with name nowhere and key msg: ConfigMap 'nowhere' does not exist");
        wf.Status.Nodes!.ShouldBeEmpty();
    }

    private const string Targets = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: targets}
        spec:
          entrypoint: main
          arguments: {parameters: [{name: target, value: E}]}
          templates:
          - name: main
            dag:
              target: "{{workflow.parameters.target}}"
              tasks:
              - {name: A, template: echo}
              - {name: C, template: echo, depends: A}
              - {name: D, template: echo, depends: A}
              - {name: E, template: echo, depends: C}
          - name: echo
            container: {image: busybox, command: ["true"]}
        """;

    [Fact]
    public async Task A_dag_target_given_as_a_parameter_runs_only_what_the_target_needs_and_an_unknown_one_errors()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Targets);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        wf.Status.Nodes!.Values.Where(n => n.Type == NodeType.Pod).Select(n => n.DisplayName).Order().ShouldBe(["A", "C", "E"]);

        var unknown = await t.RunYamlAsync(Targets.Replace("name: targets", "name: unknown-target"), "target=E Z");
        unknown.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(unknown, "unknown-target").Message.ShouldBe("dag.target: task 'Z' is not defined in template 'main'");
    }

    [Fact]
    public async Task WorkflowMetadata_labels_the_workflow_and_labelsFrom_evaluates_over_its_parameters()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: labelled}
            spec:
              entrypoint: echo
              arguments: {parameters: [{name: foo, value: bar}]}
              workflowMetadata:
                labels: {team: a}
                annotations: {note: hello}
                labelsFrom:
                  foo: {expression: workflow.parameters.foo}
              templates:
              - name: echo
                container: {image: busybox, command: [echo, "{{workflow.labels.foo}}"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        wf.Metadata.Labels!["foo"].ShouldBe("bar");
        wf.Metadata.Labels["team"].ShouldBe("a");
        wf.Metadata.Annotations!["note"].ShouldBe("hello");
        t.Logs(wf, TestEngine.Node(wf, "labelled")).ShouldBe("bar\n");

        var bad = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: not-a-string}
            spec:
              entrypoint: echo
              workflowMetadata:
                labelsFrom:
                  n: {expression: "1 + 1"}
              templates:
              - name: echo
                container: {image: busybox, command: ["true"]}
            """);
        bad.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        bad.Status.Message.ShouldBe("failed to evaluate label \"n\" expression \"1 + 1\" evaluated to Int64 but must be a string");
    }

    [Fact]
    public async Task PodResources_bound_the_memory_of_a_pod_and_a_template_overrides_the_workflow()
    {
        await using var t = await TestEngine.StartAsync();
        // 200 MB in a pod of 64Mi fails; the template that raises its pod's limit runs.
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: pod-resources}
            spec:
              entrypoint: main
              podResources: {limits: {memory: 64Mi}}
              templates:
              - name: main
                steps:
                - - {name: small, template: allocate, continueOn: {failed: true}}
                  - {name: large, template: allocate-large}
              - name: allocate
                script: {image: python, command: [python3], source: "x = bytearray(200 * 1024 * 1024)\nprint('allocated')"}
              - name: allocate-large
                podResources: {limits: {memory: 1Gi}}
                script: {image: python, command: [python3], source: "x = bytearray(200 * 1024 * 1024)\nprint('allocated')"}
            """);
        TestEngine.Node(wf, "small").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "large").Phase.ShouldBe(NodePhase.Succeeded, TestEngine.Node(wf, "large").Message);
        t.Logs(wf, TestEngine.Node(wf, "large")).ShouldBe("allocated\n");
    }
}
