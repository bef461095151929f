using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Validation;

namespace EventGateway.Tests.Workflows.Validation;

public class ManifestValidatorTests
{
    /// <summary>Four lines; a spec that follows starts on line 5.</summary>
    private const string WorkflowHeader = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: wf\n";

    private static IReadOnlyList<ManifestError> Check(string yaml)
    {
        try
        {
            ManifestReader.Read(yaml, "v.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors;
        }
    }

    private static IReadOnlyList<ManifestError> CheckWorkflow(string spec) => Check(WorkflowHeader + spec);

    private static ManifestError Single(IReadOnlyList<ManifestError> errors)
    {
        errors.Count.ShouldBe(1, string.Join(Environment.NewLine, errors));
        return errors[0];
    }

    private static (string Path, string Reason)[] PathsAndReasons(IReadOnlyList<ManifestError> errors) =>
        errors.Select(e => (e.Path, e.Reason)).ToArray();

    // ---- entrypoint and template names ----

    [Fact]
    public void Workflow_without_entrypoint_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              templates:
              - name: main
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.entrypoint");
        e.Reason.ShouldBe("missing: name the template to start with");
        e.Line.ShouldBe(6); // falls back to the nearest parent with a line: spec, whose mapping starts on its first key
    }

    [Fact]
    public void WorkflowTemplate_may_omit_the_entrypoint()
    {
        Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: lib
            spec:
              templates:
              - name: main
                container:
                  image: alpine
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Entrypoint_naming_a_missing_template_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: mian
              templates:
              - name: main
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.entrypoint");
        e.Reason.ShouldBe("template 'mian' is not defined in spec.templates");
        e.Line.ShouldBe(6);
    }

    [Fact]
    public void Entrypoint_with_a_template_expression_is_not_checked()
    {
        CheckWorkflow("""
            spec:
              entrypoint: "{{workflow.parameters.start}}"
              arguments:
                parameters:
                - name: start
                  value: main
              templates:
              - name: main
                container:
                  image: alpine
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Workflow_without_templates_is_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.templates", "missing: a workflow needs at least one template"),
            ("spec.entrypoint", "template 'main' is not defined in spec.templates"),
        ]);
    }

    [Fact]
    public void Duplicate_template_names_are_refused_at_the_second()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
              - name: main
                script:
                  image: python
                  source: print(1)
            """));
        e.Path.ShouldBe("spec.templates[1].name");
        e.Reason.ShouldBe("duplicate template name 'main'");
        e.Line.ShouldBe(11);
    }

    [Fact]
    public void Template_without_a_name_is_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
              - container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe([("spec.templates[1].name", "missing: every template needs a name")]);
    }

    // ---- template types ----

    [Fact]
    public void Template_with_no_type_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                inputs: {}
            """));
        e.Path.ShouldBe("spec.templates[0]");
        e.Reason.ShouldBe("template 'main' does nothing: set one of container, script, steps, dag, suspend, resource, http, containerSet, data");
        e.Line.ShouldBe(8);
    }

    [Fact]
    public void Template_with_two_types_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
                suspend: {}
            """));
        e.Path.ShouldBe("spec.templates[0]");
        e.Reason.ShouldBe("template 'main' sets more than one of container, script, steps, dag, suspend, resource, http, containerSet, data");
    }

    [Fact]
    public void Container_without_image_and_script_without_source_are_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  command: [echo]
              - name: py
                script:
                  image: python
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.templates[0].container.image", "missing: a container needs an image"),
            ("spec.templates[1].script.source", "missing: a script needs a source"),
        ]);
    }

    [Fact]
    public void Parallelism_below_one_is_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              parallelism: 0
              templates:
              - name: main
                parallelism: -1
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.parallelism", "must be at least 1"),
            ("spec.templates[0].parallelism", "must be at least 1"),
        ]);
    }

    [Fact]
    public void Output_parameter_without_value_from_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
                outputs:
                  parameters:
                  - name: out
            """));
        e.Path.ShouldBe("spec.templates[0].outputs.parameters[0].valueFrom");
        e.Reason.ShouldBe("missing: output parameter 'out' needs valueFrom");
    }

    // ---- references from steps and tasks ----

    [Fact]
    public void Step_referencing_a_missing_template_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: first
                    template: leaf
                - - name: second
                    template: leef
              - name: leaf
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].steps[1][0].template");
        e.Reason.ShouldBe("template 'leef' is not defined");
        e.Line.ShouldBe(13);
    }

    [Fact]
    public void Task_referencing_a_missing_template_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: a
                    template: leaf
                  - name: b
                    template: nothing-here
              - name: leaf
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[1].template");
        e.Reason.ShouldBe("template 'nothing-here' is not defined");
        e.Line.ShouldBe(14);
    }

    [Fact]
    public void Step_without_any_template_or_with_two_targets_is_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: none
                  - name: both
                    template: leaf
                    templateRef:
                      name: lib
                      template: leaf
              - name: leaf
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.templates[0].steps[0][0].template", "missing: 'none' must name a template, templateRef or inline template"),
            ("spec.templates[0].steps[0][1].template", "'both' sets more than one of template, templateRef, inline"),
        ]);
    }

    [Fact]
    public void TemplateRef_needs_name_and_template()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: call
                    templateRef:
                      name: lib
            """));
        e.Path.ShouldBe("spec.templates[0].steps[0][0].templateRef");
        e.Reason.ShouldBe("templateRef needs both name and template");
    }

    [Fact]
    public void Duplicate_step_and_task_names_are_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: s
                    template: leaf
                - - name: s
                    template: leaf
              - name: d
                dag:
                  tasks:
                  - name: t
                    template: leaf
                  - name: t
                    template: leaf
              - name: leaf
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.templates[0].steps[1][0].name", "duplicate step name 's' in template 'main'"),
            ("spec.templates[1].dag.tasks[1].name", "duplicate task name 't' in template 'd'"),
        ]);
    }

    [Fact]
    public void OnExit_naming_a_missing_template_is_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              onExit: cleanup
              templates:
              - name: main
                steps:
                - - name: s
                    template: leaf
                    onExit: bye
              - name: leaf
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.onExit", "template 'cleanup' is not defined in spec.templates"),
            ("spec.templates[0].steps[0][0].onExit", "template 'bye' is not defined"),
        ]);
    }

    // ---- DAG shape ----

    private static string Dag(string tasks) => WorkflowHeader + $"""
        spec:
          entrypoint: main
          templates:
          - name: main
            dag:
              tasks:
        {tasks}
          - name: leaf
            container:
              image: alpine
        """;

    [Fact]
    public void Two_task_cycle_is_refused_with_the_cycle_path()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                    depends: b
                  - name: b
                    template: leaf
                    depends: a
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks");
        e.Reason.ShouldBe("dependency cycle: a -> b -> a");
        e.Line.ShouldBe(11); // the first task
    }

    [Fact]
    public void Three_task_cycle_through_dependencies_is_refused_with_the_cycle_path()
    {
        var e = Single(Check(Dag("""
                  - name: start
                    template: leaf
                  - name: x
                    template: leaf
                    dependencies: [start, z]
                  - name: y
                    template: leaf
                    dependencies: [x]
                  - name: z
                    template: leaf
                    dependencies: [y]
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks");
        e.Reason.ShouldBe("dependency cycle: x -> z -> y -> x");
    }

    [Fact]
    public void Self_dependency_is_a_cycle()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                    depends: "a.Succeeded"
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks");
        e.Reason.ShouldBe("dependency cycle: a -> a");
    }

    [Fact]
    public void Diamond_is_not_a_cycle()
    {
        Check(Dag("""
                  - name: a
                    template: leaf
                  - name: b
                    template: leaf
                    depends: a
                  - name: c
                    template: leaf
                    depends: a.Succeeded || a.Failed
                  - name: d
                    template: leaf
                    depends: "b && (c.Succeeded || c.Skipped)"
            """)).ShouldBeEmpty();
    }

    [Fact]
    public void Depends_on_an_unknown_task_is_refused()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                  - name: b
                    template: leaf
                    depends: "a && ghost.Failed"
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[1].depends");
        e.Reason.ShouldBe("task 'ghost' is not defined in template 'main'");
        e.Line.ShouldBe(15);
    }

    [Fact]
    public void Dependencies_on_an_unknown_task_is_refused()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                    dependencies: [ghost]
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[0].dependencies");
        e.Reason.ShouldBe("task 'ghost' is not defined in template 'main'");
    }

    [Fact]
    public void Unparseable_depends_is_refused()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                  - name: b
                    template: leaf
                    depends: "a &&"
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[1].depends");
        e.Reason.ShouldBe("cannot parse 'a &&': expected a task name at end of expression at position 4 in expression 'a &&'");
    }

    [Fact]
    public void Depends_and_dependencies_together_are_refused()
    {
        var e = Single(Check(Dag("""
                  - name: a
                    template: leaf
                  - name: b
                    template: leaf
                    depends: a
                    dependencies: [a]
            """)));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[1].depends");
        e.Reason.ShouldBe("set either depends or dependencies, not both");
    }

    [Fact]
    public void Dag_target_naming_an_unknown_task_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  target: a ghost
                  tasks:
                  - name: a
                    template: leaf
              - name: leaf
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].dag.target");
        e.Reason.ShouldBe("task 'ghost' is not defined in template 'main'");
    }

    [Fact]
    public void FindCycle_returns_null_for_an_acyclic_graph_and_ignores_unknown_nodes()
    {
        var acyclic = new Dictionary<string, IReadOnlyCollection<string>>
        {
            ["a"] = [],
            ["b"] = ["a", "unknown"],
            ["c"] = ["a", "b"],
        };
        WorkflowValidator.FindCycle(acyclic).ShouldBeNull();

        var cyclic = new Dictionary<string, IReadOnlyCollection<string>>
        {
            ["a"] = [],
            ["m"] = ["n"],
            ["n"] = ["o"],
            ["o"] = ["m"],
        };
        WorkflowValidator.FindCycle(cyclic).ShouldBe(["m", "n", "o", "m"]);
    }

    // ---- required inputs ----

    private const string EchoTemplate = """
          - name: echo
            inputs:
              parameters:
              - name: msg
            container:
              image: alpine
              args: ["{{inputs.parameters.msg}}"]
        """;

    [Fact]
    public void Input_without_value_not_supplied_by_the_step_is_refused()
    {
        var e = Single(CheckWorkflow($"""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: say
                    template: echo
            {EchoTemplate}
            """));
        e.Path.ShouldBe("spec.templates[0].steps[0][0].arguments.parameters");
        e.Reason.ShouldBe("input parameter 'msg' of template 'echo' has no value, default or argument");
    }

    [Fact]
    public void Step_argument_without_value_is_refused()
    {
        var e = Single(CheckWorkflow($"""
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: say
                    template: echo
                    arguments:
                      parameters:
                      - name: msg
            {EchoTemplate}
            """));
        e.Path.ShouldBe("spec.templates[0].dag.tasks[0].arguments.parameters");
        e.Reason.ShouldBe("argument 'msg' for template 'echo' has no value");
    }

    [Fact]
    public void Input_supplied_by_the_step_or_with_a_default_is_accepted()
    {
        CheckWorkflow($"""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: say
                    template: echo
                    arguments:
                      parameters:
                      - name: msg
                        value: hi
                  - name: defaulted
                    template: echo-default
            {EchoTemplate}
              - name: echo-default
                inputs:
                  parameters:
                  - name: msg
                    default: hello
                container:
                  image: alpine
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Entrypoint_input_not_supplied_by_workflow_arguments_is_refused()
    {
        var e = Single(CheckWorkflow($"""
            spec:
              entrypoint: echo
              templates:
            {EchoTemplate}
            """));
        e.Path.ShouldBe("spec.arguments.parameters");
        e.Reason.ShouldBe("input parameter 'msg' of template 'echo' has no value, default or argument");
    }

    [Fact]
    public void Entrypoint_input_declared_in_workflow_arguments_without_value_is_left_for_submission()
    {
        CheckWorkflow($"""
            spec:
              entrypoint: echo
              arguments:
                parameters:
                - name: msg
              templates:
            {EchoTemplate}
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Input_artifact_not_supplied_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    template: consume
              - name: consume
                inputs:
                  artifacts:
                  - name: data
                    path: /tmp/data
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].steps[0][0].arguments.artifacts");
        e.Reason.ShouldBe("input artifact 'data' of template 'consume' is not supplied");
    }

    // ---- parameters ----

    [Fact]
    public void Enum_violations_are_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: env
                  value: prod
                  enum: [dev, staging]
                - name: late
                  value: "{{workflow.name}}"
                  enum: [a]
              templates:
              - name: main
                inputs:
                  parameters:
                  - name: size
                    default: huge
                    enum: [small, large]
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.arguments.parameters[0].value", "'prod' is not one of the allowed values [dev, staging]"),
            ("spec.templates[0].inputs.parameters[0].default", "'huge' is not one of the allowed values [small, large]"),
        ]);
        errors[0].Line.ShouldBe(10);
    }

    [Fact]
    public void Duplicate_and_unnamed_parameters_are_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: a
                  value: "1"
                - name: a
                  value: "2"
                - value: "3"
              templates:
              - name: main
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.arguments.parameters[1].name", "duplicate parameter 'a'"),
            ("spec.arguments.parameters[2].name", "missing: every parameter needs a name"),
        ]);
    }

    // ---- retry strategy ----

    [Fact]
    public void Invalid_retry_policy_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy:
                  retryPolicy: Sometimes
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].retryStrategy.retryPolicy");
        e.Reason.ShouldBe("'Sometimes' is not one of Always, OnFailure, OnError, OnTransientError");
        e.Line.ShouldBe(10);
    }

    [Theory]
    [InlineData("-1", "'-1' is not a non-negative integer")]
    [InlineData("three", "'three' is not a non-negative integer")]
    [InlineData("1.5", "'1.5' is not a non-negative integer")]
    public void Invalid_retry_limit_is_refused(string limit, string reason)
    {
        var e = Single(CheckWorkflow($"""
            spec:
              entrypoint: main
              retryStrategy:
                limit: {limit}
              templates:
              - name: main
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.retryStrategy.limit");
        e.Reason.ShouldBe(reason);
    }

    [Theory]
    [InlineData("\"3\"")]
    [InlineData("0")]
    [InlineData("\"{{workflow.parameters.retries}}\"")]
    public void Valid_retry_limits_are_accepted(string limit)
    {
        CheckWorkflow($$$"""
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy:
                  limit: {{{limit}}}
                  retryPolicy: OnTransientError
                  backoff:
                    duration: 1m30s
                    factor: 2
                    maxDuration: "{{workflow.parameters.max}}"
                container:
                  image: alpine
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Invalid_backoff_durations_are_refused()
    {
        var errors = CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy:
                  limit: 2
                  backoff:
                    duration: abc
                    maxDuration: 10x
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.templates[0].retryStrategy.backoff.duration", "'abc' is not a duration like 10s, 2m or 1h"),
            ("spec.templates[0].retryStrategy.backoff.maxDuration", "'10x' is not a duration like 10s, 2m or 1h"),
        ]);
        errors[0].Line.ShouldBe(12);
        errors[1].Line.ShouldBe(13);
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("Infinity")]
    [InlineData("99999999999999h")]
    public void Huge_backoff_duration_is_refused_not_thrown(string duration)
    {
        var e = Single(CheckWorkflow($"""
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy:
                  backoff:
                    duration: "{duration}"
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].retryStrategy.backoff.duration");
        e.Reason.ShouldBe($"'{duration}' is not a duration like 10s, 2m or 1h");
    }

    // ---- input references ----

    [Fact]
    public void Reference_to_an_undeclared_input_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: message
                  value: hi
              templates:
              - name: main
                inputs:
                  parameters:
                  - name: message
                    value: "{{workflow.parameters.message}}"
                container:
                  image: alpine
                  args: ["{{inputs.parameters.message}}", "{{ inputs.parameters.typo }}"]
            """));
        e.Path.ShouldBe("spec.templates[0]");
        e.Reason.ShouldBe("template 'main' refers to {{inputs.parameters.typo}} but declares no such input");
        e.Line.ShouldBe(12);
    }

    [Fact]
    public void Reference_to_an_undeclared_input_artifact_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                script:
                  image: alpine
                  source: cat {{inputs.artifacts.data.path}}
            """));
        e.Path.ShouldBe("spec.templates[0]");
        e.Reason.ShouldBe("template 'main' refers to {{inputs.artifacts.data}} but declares no such input");
    }

    [Fact]
    public void Inline_template_inputs_are_checked_against_the_inline_template()
    {
        CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: inline
                    arguments:
                      parameters:
                      - name: y
                        value: "1"
                    inline:
                      inputs:
                        parameters:
                        - name: y
                      container:
                        image: alpine
                        args: ["{{inputs.parameters.y}}"]
            """).ShouldBeEmpty();
    }

    // ---- loops ----

    [Fact]
    public void WithItems_and_withParam_together_are_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: each
                    template: leaf
                    withItems: [1, 2]
                    withParam: "[3, 4]"
              - name: leaf
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].steps[0][0]");
        e.Reason.ShouldBe("set only one of withItems, withParam, withSequence");
        e.Line.ShouldBe(10);
    }

    [Fact]
    public void WithSequence_with_count_and_end_is_refused()
    {
        var e = Single(CheckWorkflow("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: each
                    template: leaf
                    withSequence:
                      count: 3
                      end: 5
              - name: leaf
                container:
                  image: alpine
            """));
        e.Path.ShouldBe("spec.templates[0].steps[0][0].withSequence");
        e.Reason.ShouldBe("set either count or end, not both");
    }

    // ---- names ----

    [Fact]
    public void Uppercase_metadata_name_is_refused()
    {
        var errors = Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: MyFlow
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        var e = Single(errors);
        e.Path.ShouldBe("metadata.name");
        e.Reason.ShouldBe("'MyFlow' is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters");
        e.Line.ShouldBe(4);
        e.Name.ShouldBe("MyFlow");
    }

    [Theory]
    [InlineData("-leading")]
    [InlineData("trailing-")]
    [InlineData("under_score")]
    [InlineData("sp ace")]
    public void Invalid_names_are_refused(string name)
    {
        var e = Single(Check($"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{name}\"\n"));
        e.Path.ShouldBe("metadata.name");
        e.Reason.ShouldStartWith($"'{name}' is not a valid name");
    }

    [Fact]
    public void Invalid_generate_name_and_namespace_are_refused()
    {
        var errors = Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: Hello-
              namespace: Team_A
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("metadata.generateName", "'Hello-' is not a valid name prefix"),
            ("metadata.namespace", "'Team_A' is not a valid namespace"),
        ]);
        errors[0].Name.ShouldBe("Hello-");
    }

    [Fact]
    public void Missing_name_is_refused_and_only_workflows_may_use_generate_name()
    {
        var wf = Single(Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """));
        wf.Path.ShouldBe("metadata.name");
        wf.Reason.ShouldBe("missing: set metadata.name or metadata.generateName");

        var template = Single(Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              generateName: lib-
            spec:
              templates:
              - name: main
                container:
                  image: alpine
            """));
        template.Path.ShouldBe("metadata.name");
        template.Reason.ShouldBe("missing: set metadata.name");
    }

    // ---- CronWorkflow ----

    [Fact]
    public void CronWorkflow_without_schedules_is_refused()
    {
        var errors = Check("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata:
              name: nightly
            spec:
              schedules: []
              concurrencyPolicy: Sometimes
              workflowSpec:
                templates:
                - name: main
                  container:
                    image: alpine
            """);
        PathsAndReasons(errors).ShouldBe(
        [
            ("spec.schedules", "missing: a CronWorkflow needs at least one schedule"),
            ("spec.concurrencyPolicy", "'Sometimes' is not one of Allow, Forbid, Replace"),
            ("spec.workflowSpec.entrypoint", "missing: name the template to start with"),
        ]);
        errors.ShouldAllBe(e => e.Kind == "CronWorkflow" && e.Name == "nightly");
    }

    [Fact]
    public void CronWorkflow_with_singular_schedule_or_schedules_is_accepted()
    {
        var resources = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata:
              name: old-style
            spec:
              schedule: "0 * * * *"
              workflowSpec:
                entrypoint: main
                templates:
                - name: main
                  container:
                    image: alpine
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata:
              name: new-style
            spec:
              schedules: ["0 * * * *", "30 * * * *"]
              concurrencyPolicy: Forbid
              workflowSpec:
                entrypoint: main
                templates:
                - name: main
                  container:
                    image: alpine
            """, "cron.yaml");
        resources.Count.ShouldBe(2);
        resources[0].ShouldBeOfType<CronWorkflow>().Spec.Schedule.ShouldBe("0 * * * *");
        resources[1].ShouldBeOfType<CronWorkflow>().Spec.Schedules.ShouldBe(["0 * * * *", "30 * * * *"]);
    }

    [Fact]
    public void WorkflowTemplateRef_without_name_is_refused_and_with_name_skips_template_checks()
    {
        var e = Single(CheckWorkflow("""
            spec:
              workflowTemplateRef:
                clusterScope: true
            """));
        e.Path.ShouldBe("spec.workflowTemplateRef.name");
        e.Reason.ShouldBe("missing: name the WorkflowTemplate to run");

        CheckWorkflow("""
            spec:
              workflowTemplateRef:
                name: lib
            """).ShouldBeEmpty();
    }

    // ---- a realistic valid manifest ----

    [Fact]
    public void Realistic_steps_and_dag_workflow_has_no_errors()
    {
        var resources = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: ci-pipeline-
              namespace: builds
              labels:
                team: platform
            spec:
              entrypoint: pipeline
              onExit: notify
              parallelism: 4
              arguments:
                parameters:
                - name: revision
                  value: main
                - name: env
                  value: staging
                  enum: [dev, staging, prod]
              templates:
              - name: pipeline
                steps:
                - - name: checkout
                    template: git-checkout
                    arguments:
                      parameters:
                      - name: revision
                        value: "{{workflow.parameters.revision}}"
                - - name: build
                    template: build-dag
                - - name: test
                    template: run-test
                    arguments:
                      parameters:
                      - name: suite
                        value: "{{item}}"
                    withItems: [unit, integration, e2e]
                  - name: lint
                    template: run-test
                    when: "{{workflow.parameters.env}} != prod"
                    arguments:
                      parameters:
                      - name: suite
                        value: lint
              - name: build-dag
                dag:
                  failFast: true
                  tasks:
                  - name: build-api
                    template: compile
                    arguments:
                      parameters:
                      - name: component
                        value: api
                  - name: build-web
                    template: compile
                    arguments:
                      parameters:
                      - name: component
                        value: web
                  - name: package
                    template: compile
                    depends: "build-api && build-web.Succeeded"
                    arguments:
                      parameters:
                      - name: component
                        value: bundle
                  - name: report
                    template: report
                    dependencies: [package]
              - name: git-checkout
                inputs:
                  parameters:
                  - name: revision
                container:
                  image: alpine/git
                  command: [git, checkout, "{{inputs.parameters.revision}}"]
                outputs:
                  parameters:
                  - name: sha
                    valueFrom:
                      path: /tmp/sha
              - name: compile
                retryStrategy:
                  limit: 3
                  retryPolicy: OnFailure
                  backoff:
                    duration: 10s
                    factor: 2
                    maxDuration: 1m
                inputs:
                  parameters:
                  - name: component
                script:
                  image: golang:1.22
                  command: [sh]
                  source: |
                    echo building {{inputs.parameters.component}}
              - name: run-test
                inputs:
                  parameters:
                  - name: suite
                  - name: verbose
                    default: "false"
                container:
                  image: alpine
                  args: ["{{inputs.parameters.suite}}", "{{inputs.parameters.verbose}}"]
              - name: report
                suspend:
                  duration: 30s
              - name: notify
                container:
                  image: curlimages/curl
                  args: ["{{workflow.status}}"]
            """, "pipeline.yaml");
        var wf = resources.Single().ShouldBeOfType<Workflow>();
        wf.Spec.Templates!.Select(t => t.Type).ShouldBe(
        [
            TemplateType.Steps, TemplateType.Dag, TemplateType.Container, TemplateType.Script,
            TemplateType.Container, TemplateType.Suspend, TemplateType.Container,
        ]);
        wf.Spec.Templates![0].Steps![2].Select(s => s.Name).ShouldBe(["test", "lint"]);
        wf.Spec.Templates![0].Steps![2][0].WithItems!.Select(n => n!.GetValue<string>()).ShouldBe(["unit", "integration", "e2e"]);
        wf.Spec.Templates![1].Dag!.Tasks[2].Depends.ShouldBe("build-api && build-web.Succeeded");
    }

    [Fact]
    public void Validate_can_be_called_directly_on_objects()
    {
        var wf = new Workflow
        {
            ApiVersion = Resources.ArgoApiVersion,
            Kind = "Workflow",
            Metadata = new ObjectMeta { Name = "direct" },
            Spec = new WorkflowSpec
            {
                Entrypoint = "main",
                Templates = [new Template { Name = "main", Steps = [[new WorkflowStep { Name = "s", Template = "missing" }]] }],
            },
        };
        var errors = new List<(string, string)>();
        ManifestReader.Validator.Validate(wf, (p, r) => errors.Add((p, r)));
        errors.ShouldBe([("spec.templates[0].steps[0][0].template", "template 'missing' is not defined")]);
    }
}
