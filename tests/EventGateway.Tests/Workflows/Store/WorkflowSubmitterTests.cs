using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Workflows.Store;

public sealed class WorkflowSubmitterTests : IDisposable
{
    private const string Source = "submit.yaml";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-submit-");
    private readonly SqliteResourceStore _store;
    private readonly WorkflowSubmitter _submitter;

    public WorkflowSubmitterTests()
    {
        _store = new SqliteResourceStore(Path.Combine(_dir.FullName, "store.db"), new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero)));
        _submitter = new WorkflowSubmitter(_store);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Delete(recursive: true);
    }

    private static T Read<T>(string yaml) where T : Resource => ManifestReader.Read(yaml, Source).Single().ShouldBeOfType<T>();

    private static KeyValuePair<string, string>[] P(params string[] pairs) =>
        pairs.Select(p => p.Split('=', 2)).Select(kv => KeyValuePair.Create(kv[0], kv[1])).ToArray();

    private async Task<IReadOnlyList<ManifestError>> Refused(Workflow wf, IReadOnlyList<KeyValuePair<string, string>>? parameters = null)
    {
        var e = await Should.ThrowAsync<ManifestException>(() => _submitter.SubmitAsync(wf, parameters, Source));
        (await _store.ListAsync<Workflow>()).ShouldBeEmpty("a refused submission must store nothing");
        return e.Errors;
    }

    private static Dictionary<string, string?> Args(WorkflowSpec spec) =>
        (spec.Arguments?.Parameters ?? []).ToDictionary(p => p.Name, p => p.Value);

    private const string GreetingWorkflow = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          name: greet
        spec:
          entrypoint: main
          arguments:
            parameters:
            - name: message
              value: hello
            - name: count
              value: 1
          templates:
          - name: main
            container:
              image: alpine
              args: ["{{workflow.parameters.message}}", "{{workflow.parameters.count}}"]
        """;

    private async Task StoreLibrary(string ns = "default")
    {
        await _store.CreateAsync(Read<WorkflowTemplate>($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: lib
              namespace: {{ns}}
            spec:
              templates:
              - name: outer
                steps:
                - - name: call-inner
                    template: inner
                - - name: call-leaf
                    template: leaf
              - name: inner
                dag:
                  tasks:
                  - name: t
                    template: leaf
              - name: leaf
                container:
                  image: alpine
              - name: unused
                container:
                  image: busybox
            """));
    }

    // ---- -p ----

    [Fact]
    public async Task P_override_sets_the_argument_and_the_workflow_is_stored()
    {
        var original = Read<Workflow>(GreetingWorkflow);

        var stored = await _submitter.SubmitAsync(original, P("message=goodbye"), Source);

        Args(stored.Spec).ShouldBe(new Dictionary<string, string?> { ["message"] = "goodbye", ["count"] = "1" });
        stored.Metadata.Namespace.ShouldBe("default");
        stored.Metadata.Uid.ShouldNotBeNull();
        stored.Status.ShouldBeNull(); // no references to freeze
        Args(original.Spec)["message"].ShouldBe("hello"); // the caller's object is not modified

        var reread = (await _store.GetAsync<Workflow>("default", "greet")).ShouldNotBeNull();
        Args(reread.Spec)["message"].ShouldBe("goodbye");
    }

    [Fact]
    public async Task P_override_replaces_value_from_and_last_one_wins()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: from-config
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: level
                  valueFrom:
                    configMapKeyRef:
                      name: settings
                      key: level
              templates:
              - name: main
                container:
                  image: alpine
            """);

        var prepared = await _submitter.PrepareAsync(wf, P("level=debug", "level=trace"), Source, CancellationToken.None);

        var level = prepared.Spec.Arguments!.Parameters!.Single();
        level.Value.ShouldBe("trace");
        level.ValueFrom.ShouldBeNull();
        (await _store.ListAsync<Workflow>()).ShouldBeEmpty(); // PrepareAsync stores nothing
    }

    [Fact]
    public async Task P_of_an_undeclared_name_is_refused_listing_declared_names()
    {
        var errors = await Refused(Read<Workflow>(GreetingWorkflow), P("mesage=hi"));

        var e = errors.ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.arguments.parameters");
        e.Reason.ShouldBe("-p mesage: the workflow declares no argument 'mesage' (declared: message, count)");
        e.Source.ShouldBe(Source);
        e.Kind.ShouldBe("Workflow");
        e.Name.ShouldBe("greet");
        e.Line.ShouldBeNull();
    }

    [Fact]
    public async Task P_on_a_workflow_without_arguments_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: bare-
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        var e = (await Refused(wf, P("x=1"))).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.arguments.parameters");
        e.Reason.ShouldBe("-p x: the workflow declares no argument 'x' (declared: )");
        e.Name.ShouldBe("bare-");
    }

    [Fact]
    public async Task Argument_without_value_is_refused_naming_the_p_flag()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: needs-input
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: region
                  value: eu
                - name: target
                - name: tier
              templates:
              - name: main
                container:
                  image: alpine
            """);

        var errors = await Refused(wf);
        errors.Select(e => (e.Path, e.Reason)).ShouldBe(
        [
            ("spec.arguments.parameters[1].value", "parameter 'target' has no value: pass -p target=VALUE"),
            ("spec.arguments.parameters[2].value", "parameter 'tier' has no value: pass -p tier=VALUE"),
        ]);

        // Supplying them with -p makes the same workflow acceptable.
        var stored = await _submitter.SubmitAsync(wf, P("target=prod", "tier=gold"), Source);
        Args(stored.Spec).ShouldBe(new Dictionary<string, string?> { ["region"] = "eu", ["target"] = "prod", ["tier"] = "gold" });
    }

    [Fact]
    public async Task P_value_outside_the_enum_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: enum
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: env
                  value: dev
                  enum: [dev, prod]
              templates:
              - name: main
                container:
                  image: alpine
            """);
        var e = (await Refused(wf, P("env=staging"))).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.arguments.parameters[0].value");
        e.Reason.ShouldBe("'staging' is not one of the allowed values [dev, prod]");
    }

    [Fact]
    public async Task Every_problem_of_a_submission_is_reported_together()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: many
            spec:
              entrypoint: main
              arguments:
                parameters:
                - name: a
              templates:
              - name: main
                steps:
                - - name: s
                    templateRef:
                      name: nolib
                      template: x
            """);
        var errors = await Refused(wf, P("b=1"));
        errors.Select(e => (e.Path, e.Reason)).ShouldBe(
        [
            ("spec.arguments.parameters", "-p b: the workflow declares no argument 'b' (declared: a)"),
            ("spec.arguments.parameters[0].value", "parameter 'a' has no value: pass -p a=VALUE"),
            ("spec.templates", "templateRef: WorkflowTemplate 'nolib' not found in namespace 'default'"),
        ]);
    }

    // ---- workflowTemplateRef ----

    [Fact]
    public async Task WorkflowTemplateRef_to_a_missing_template_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: run-
              namespace: team-a
            spec:
              workflowTemplateRef:
                name: missing
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.workflowTemplateRef.name");
        e.Reason.ShouldBe("WorkflowTemplate 'missing' not found in namespace 'team-a'");
        e.Kind.ShouldBe("Workflow");
        e.Name.ShouldBe("run-");
    }

    [Fact]
    public async Task WorkflowTemplateRef_looks_in_the_workflow_namespace_only()
    {
        await _store.CreateAsync(Read<WorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: build
              namespace: team-b
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: run
              namespace: team-a
            spec:
              workflowTemplateRef:
                name: build
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Reason.ShouldBe("WorkflowTemplate 'build' not found in namespace 'team-a'");
    }

    [Fact]
    public async Task Cluster_scoped_workflowTemplateRef_to_a_missing_template_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: run
            spec:
              workflowTemplateRef:
                name: shared
                clusterScope: true
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.workflowTemplateRef.name");
        e.Reason.ShouldBe("ClusterWorkflowTemplate 'shared' not found");
    }

    [Fact]
    public async Task WorkflowTemplateRef_freezes_the_merged_spec_with_workflow_arguments_winning()
    {
        await _store.CreateAsync(Read<WorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: build
            spec:
              entrypoint: main
              parallelism: 2
              arguments:
                parameters:
                - name: a
                  value: "1"
                - name: b
                  value: "2"
                - name: c
                  value: "3"
              templates:
              - name: main
                container:
                  image: alpine
              - name: other
                container:
                  image: busybox
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: build-
            spec:
              workflowTemplateRef:
                name: build
              entrypoint: other
              arguments:
                parameters:
                - name: b
                  value: "20"
                - name: d
                  value: "40"
            """);

        var stored = await _submitter.SubmitAsync(wf, P("c=30"), Source);

        stored.Metadata.Name.ShouldNotBeNull().ShouldStartWith("build-");
        stored.Status.ShouldNotBeNull().Phase.ShouldBe(WorkflowPhase.Pending);
        stored.Status.StoredTemplates.ShouldBeNull();
        var frozen = stored.Status.StoredWorkflowTemplateSpec.ShouldNotBeNull();
        frozen.WorkflowTemplateRef.ShouldBeNull();
        frozen.Entrypoint.ShouldBe("other");
        frozen.Parallelism.ShouldBe(2L);
        frozen.Templates!.Select(t => t.Name).ShouldBe(["main", "other"]);
        frozen.Arguments!.Parameters!.Select(p => (p.Name, p.Value)).ShouldBe(
        [
            ("a", "1"),
            ("b", "20"),
            ("c", "30"),
            ("d", "40"),
        ]);

        // The workflow keeps its own reference, plus the -p value among its own arguments.
        stored.Spec.WorkflowTemplateRef.ShouldNotBeNull().Name.ShouldBe("build");
        stored.Spec.Templates.ShouldBeNull();
        Args(stored.Spec).ShouldBe(new Dictionary<string, string?> { ["b"] = "20", ["d"] = "40", ["c"] = "30" });

        // What was stored is what Get returns, and the WorkflowTemplate itself is untouched.
        var reread = (await _store.GetAsync<Workflow>("default", stored.Name)).ShouldNotBeNull();
        Args(reread.Status!.StoredWorkflowTemplateSpec!)["b"].ShouldBe("20");
        var template = (await _store.GetAsync<WorkflowTemplate>("default", "build")).ShouldNotBeNull();
        Args(template.Spec).ShouldBe(new Dictionary<string, string?> { ["a"] = "1", ["b"] = "2", ["c"] = "3" });
        template.Metadata.ResourceVersion.ShouldBe("1");
    }

    [Fact]
    public async Task WorkflowTemplateRef_merged_spec_is_validated()
    {
        await _store.CreateAsync(Read<WorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: no-entry
            spec:
              templates:
              - name: main
                inputs:
                  parameters:
                  - name: who
                container:
                  image: alpine
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: run
            spec:
              workflowTemplateRef:
                name: no-entry
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.entrypoint");
        e.Reason.ShouldBe("missing: name the template to start with");

        var withEntry = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: run
            spec:
              entrypoint: main
              workflowTemplateRef:
                name: no-entry
            """);
        var missingInput = (await Refused(withEntry)).ShouldHaveSingleItem();
        missingInput.Path.ShouldBe("spec.arguments.parameters");
        missingInput.Reason.ShouldBe("input parameter 'who' of template 'main' has no value, default or argument");
    }

    [Fact]
    public async Task Cluster_workflowTemplateRef_is_resolved()
    {
        await _store.CreateAsync(Read<ClusterWorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: ClusterWorkflowTemplate
            metadata:
              name: shared
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: run
              namespace: anywhere
            spec:
              workflowTemplateRef:
                name: shared
                clusterScope: true
            """);
        var stored = await _submitter.SubmitAsync(wf, null, Source);
        stored.Status!.StoredWorkflowTemplateSpec!.Entrypoint.ShouldBe("main");
        (await _store.GetAsync<Workflow>("anywhere", "run")).ShouldNotBeNull();
    }

    // ---- templateRef ----

    [Fact]
    public async Task TemplateRef_freezes_the_template_and_the_templates_it_calls()
    {
        await StoreLibrary("team-a");
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: use-lib
              namespace: team-a
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: lib
                      template: outer
                - - name: local
                    template: leaf
              - name: leaf
                container:
                  image: local-image
            """);

        var stored = await _submitter.SubmitAsync(wf, null, Source);

        stored.Status.ShouldNotBeNull().Phase.ShouldBe(WorkflowPhase.Pending);
        stored.Status.StoredWorkflowTemplateSpec.ShouldBeNull();
        var frozen = stored.Status.StoredTemplates.ShouldNotBeNull();
        frozen.Keys.Order(StringComparer.Ordinal).ShouldBe(
        [
            "namespaced/team-a/lib/inner",
            "namespaced/team-a/lib/leaf",
            "namespaced/team-a/lib/outer",
        ]);

        // Names inside the referenced template now point into the same WorkflowTemplate, not at the workflow's own "leaf".
        var outer = frozen["namespaced/team-a/lib/outer"];
        outer.Steps![0][0].Template.ShouldBeNull();
        outer.Steps![0][0].TemplateRef.ShouldNotBeNull().Name.ShouldBe("lib");
        outer.Steps![0][0].TemplateRef!.Template.ShouldBe("inner");
        outer.Steps![0][0].TemplateRef!.ClusterScope.ShouldBeNull();
        outer.Steps![1][0].TemplateRef!.Template.ShouldBe("leaf");
        var inner = frozen["namespaced/team-a/lib/inner"];
        inner.Dag!.Tasks[0].Template.ShouldBeNull();
        inner.Dag!.Tasks[0].TemplateRef!.Template.ShouldBe("leaf");
        frozen["namespaced/team-a/lib/leaf"].Container!.Image.ShouldBe("alpine");

        // The workflow's own templates are not rewritten.
        stored.Spec.Templates![0].Steps![0][0].TemplateRef!.Template.ShouldBe("outer");
        stored.Spec.Templates![0].Steps![1][0].Template.ShouldBe("leaf");
        stored.Spec.Templates![0].Steps![1][0].TemplateRef.ShouldBeNull();

        // The stored WorkflowTemplate is unchanged and the keys resolve the way the operator looks them up.
        var lib = (await _store.GetAsync<WorkflowTemplate>("team-a", "lib")).ShouldNotBeNull();
        lib.Spec.Templates![0].Steps![0][0].Template.ShouldBe("inner");
        TemplateRefs.Key(new TemplateRef { Name = "lib", Template = "outer" }, "team-a").ShouldBe("namespaced/team-a/lib/outer");
        var reread = (await _store.GetAsync<Workflow>("team-a", "use-lib")).ShouldNotBeNull();
        reread.Status!.StoredTemplates!.Count.ShouldBe(3);
    }

    [Fact]
    public async Task TemplateRef_in_a_dag_of_a_cluster_template_is_keyed_as_cluster()
    {
        await _store.CreateAsync(Read<ClusterWorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: ClusterWorkflowTemplate
            metadata:
              name: shared
            spec:
              templates:
              - name: hello
                steps:
                - - name: s
                    template: world
              - name: world
                container:
                  image: alpine
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: use-shared
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: t
                    templateRef:
                      name: shared
                      template: hello
                      clusterScope: true
            """);
        var stored = await _submitter.SubmitAsync(wf, null, Source);
        var frozen = stored.Status!.StoredTemplates.ShouldNotBeNull();
        frozen.Keys.Order(StringComparer.Ordinal).ShouldBe(["cluster/shared/hello", "cluster/shared/world"]);
        var rewritten = frozen["cluster/shared/hello"].Steps![0][0].TemplateRef.ShouldNotBeNull();
        (rewritten.Name, rewritten.Template, rewritten.ClusterScope).ShouldBe(("shared", "world", (bool?)true));
    }

    [Fact]
    public async Task TemplateRef_to_a_missing_workflow_template_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: broken-ref
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: nolib
                      template: outer
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.templates");
        e.Reason.ShouldBe("templateRef: WorkflowTemplate 'nolib' not found in namespace 'default'");
        e.Name.ShouldBe("broken-ref");
    }

    [Fact]
    public async Task TemplateRef_to_a_missing_template_in_an_existing_workflow_template_is_refused()
    {
        await StoreLibrary();
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: broken-ref
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: lib
                      template: outr
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Path.ShouldBe("spec.templates");
        e.Reason.ShouldBe("templateRef: template 'outr' not found in WorkflowTemplate 'lib'");
    }

    [Fact]
    public async Task TemplateRef_to_a_missing_cluster_template_is_refused()
    {
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: broken-ref
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: shared
                      template: hello
                      clusterScope: true
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Reason.ShouldBe("templateRef: ClusterWorkflowTemplate 'shared' not found (clusterScope: true)");
    }

    [Fact]
    public async Task TemplateRef_in_another_namespace_is_not_found()
    {
        await StoreLibrary("team-b");
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: cross
              namespace: team-a
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: lib
                      template: outer
            """);
        var e = (await Refused(wf)).ShouldHaveSingleItem();
        e.Reason.ShouldBe("templateRef: WorkflowTemplate 'lib' not found in namespace 'team-a'");
    }

    [Fact]
    public async Task TemplateRef_freezes_exit_handlers_of_the_referenced_template()
    {
        await _store.CreateAsync(Read<WorkflowTemplate>("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: lib
            spec:
              templates:
              - name: outer
                steps:
                - - name: work
                    template: leaf
                    onExit: lib-cleanup
              - name: leaf
                container:
                  image: alpine
              - name: lib-cleanup
                container:
                  image: alpine
            """));
        var wf = Read<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: use-lib
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef:
                      name: lib
                      template: outer
            """);
        var stored = await _submitter.SubmitAsync(wf, null, Source);
        stored.Status!.StoredTemplates!.Keys.ShouldContain("namespaced/default/lib/lib-cleanup");
        stored.Status.StoredTemplates["namespaced/default/lib/outer"].Steps![0][0].OnExit.ShouldBe("namespaced/default/lib/lib-cleanup");
    }

    [Fact]
    public async Task A_workflow_with_an_existing_name_is_refused_by_the_store()
    {
        await _submitter.SubmitAsync(Read<Workflow>(GreetingWorkflow), null, Source);
        var e = await Should.ThrowAsync<ConflictException>(() => _submitter.SubmitAsync(Read<Workflow>(GreetingWorkflow), P("message=again"), Source));
        e.Message.ShouldBe("Workflow default/greet already exists");
        var stored = (await _store.ListAsync<Workflow>()).ShouldHaveSingleItem();
        Args(stored.Spec)["message"].ShouldBe("hello");
    }
}
