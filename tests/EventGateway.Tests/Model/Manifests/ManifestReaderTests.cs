using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Model.Manifests;

public class ManifestReaderTests
{
    private const string Source = "test.yaml";

    private static IReadOnlyList<ManifestError> Errors(string text) =>
        Should.Throw<ManifestException>(() => ManifestReader.Read(text, Source)).Errors;

    private static ManifestError SingleError(string text)
    {
        var errors = Errors(text);
        errors.Count.ShouldBe(1, string.Join(Environment.NewLine, errors));
        return errors[0];
    }

    private static T ReadOne<T>(string text) where T : Resource
    {
        var resources = ManifestReader.Read(text, Source);
        resources.Count.ShouldBe(1);
        return resources[0].ShouldBeOfType<T>();
    }

    /// <summary>A minimal valid workflow whose single container template has one input per typed value.</summary>
    private const string TypedValues = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          name: typed
        spec:
          entrypoint: main
          arguments:
            parameters:
            - name: quoted
              value: "1"
            - name: int
              value: 1
            - name: float
              value: 1.10
            - name: yes
              value: true
            - name: no
              value: false
            - name: nothing
              value: null
            - name: tilde
              value: ~
            - name: empty
              value:
            - name: octal
              value: 007
            - name: negative
              value: -42
            - name: exponent
              value: 1e3
            - name: hex
              value: 0x1F
            - name: plus
              value: +5
            - name: quotedtrue
              value: "true"
            - name: yesword
              value: yes
          templates:
          - name: main
            container:
              image: alpine
        """;

    // ---- multiple documents and formats ----

    [Fact]
    public void Multi_document_yaml_returns_every_resource_in_order()
    {
        var resources = ManifestReader.Read("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            data:
              color: blue
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata:
              name: lib
              namespace: team-a
            spec:
              templates:
              - name: hello
                container:
                  image: alpine
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: hello-
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """, Source);

        resources.Count.ShouldBe(3);
        var cm = resources[0].ShouldBeOfType<ConfigMap>();
        cm.Name.ShouldBe("settings");
        cm.Data.ShouldNotBeNull()["color"].ShouldBe("blue");
        var wt = resources[1].ShouldBeOfType<WorkflowTemplate>();
        wt.Name.ShouldBe("lib");
        wt.Metadata.Namespace.ShouldBe("team-a");
        wt.Spec.Templates.ShouldNotBeNull().Single().Name.ShouldBe("hello");
        var wf = resources[2].ShouldBeOfType<Workflow>();
        wf.Metadata.GenerateName.ShouldBe("hello-");
        wf.Metadata.Name.ShouldBeNull();
        wf.Kind.ShouldBe("Workflow");
        wf.ApiVersion.ShouldBe("argoproj.io/v1alpha1");
    }

    [Fact]
    public void Json_input_is_read_like_yaml()
    {
        var wf = ReadOne<Workflow>("""
            {
              "apiVersion": "argoproj.io/v1alpha1",
              "kind": "Workflow",
              "metadata": {"name": "from-json", "labels": {"team": "data"}},
              "spec": {
                "entrypoint": "main",
                "parallelism": 3,
                "arguments": {"parameters": [{"name": "n", "value": 5}, {"name": "s", "value": "5"}]},
                "templates": [{"name": "main", "container": {"image": "alpine", "command": ["echo", "hi"]}}]
              }
            }
            """);
        wf.Name.ShouldBe("from-json");
        wf.Metadata.Labels.ShouldNotBeNull()["team"].ShouldBe("data");
        wf.Spec.Entrypoint.ShouldBe("main");
        wf.Spec.Parallelism.ShouldBe(3L);
        wf.Spec.Arguments!.Parameters!.Select(p => p.Value).ShouldBe(["5", "5"]);
        wf.Spec.Templates!.Single().Container!.Command.ShouldBe(["echo", "hi"]);
    }

    [Fact]
    public void Json_unknown_field_is_reported_with_path_and_line()
    {
        var e = SingleError("""
            {
              "apiVersion": "argoproj.io/v1alpha1",
              "kind": "Workflow",
              "metadata": {"name": "from-json"},
              "spec": {
                "entrypoint": "main",
                "paralelism": 3,
                "templates": [{"name": "main", "container": {"image": "alpine"}}]
              }
            }
            """);
        e.Path.ShouldBe("spec.paralelism");
        e.Reason.ShouldBe("unknown field \"paralelism\"");
        e.Line.ShouldBe(7);
    }

    [Fact]
    public void Empty_documents_are_skipped_and_indices_count_them()
    {
        var resources = ManifestReader.Read("""
            ---
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: one
            ---
            # only a comment
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: two
            ---
            """, Source);
        resources.Select(r => r.Name).ShouldBe(["one", "two"]);

        // An error in the ConfigMap after the skipped documents still names the document by its position in the file.
        var e = SingleError("""
            ---
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: one
              colour: blue
            """);
        e.Document.ShouldBe(1);
        e.Path.ShouldBe("metadata.colour");
        e.Line.ShouldBe(7);
    }

    [Theory]
    [InlineData("")]
    [InlineData("---\n---\n")]
    [InlineData("# nothing but a comment\n")]
    public void Input_without_documents_is_refused(string text)
    {
        var e = SingleError(text);
        e.Reason.ShouldBe("no documents found");
        e.Path.ShouldBe("");
        e.Kind.ShouldBeNull();
        e.Source.ShouldBe(Source);
    }

    // ---- YAML typing ----

    [Fact]
    public void Yaml_scalars_keep_their_literal_text_in_string_fields()
    {
        var wf = ReadOne<Workflow>(TypedValues);
        var values = wf.Spec.Arguments!.Parameters!.ToDictionary(p => p.Name, p => p.Value);
        values["quoted"].ShouldBe("1");
        values["int"].ShouldBe("1");
        values["float"].ShouldBe("1.10");
        values["yes"].ShouldBe("true");
        values["no"].ShouldBe("false");
        values["nothing"].ShouldBeNull();
        values["tilde"].ShouldBeNull();
        values["empty"].ShouldBeNull();
        values["octal"].ShouldBe("007");
        values["negative"].ShouldBe("-42");
        values["exponent"].ShouldBe("1e3");
        values["hex"].ShouldBe("0x1F");
        values["plus"].ShouldBe("+5");
        values["quotedtrue"].ShouldBe("true");
        values["yesword"].ShouldBe("yes");
    }

    [Fact]
    public void Parameter_names_that_look_like_booleans_stay_strings()
    {
        // The names "yes" and "no" are YAML 1.1 booleans but YAML 1.2 strings.
        var wf = ReadOne<Workflow>(TypedValues);
        wf.Spec.Arguments!.Parameters!.Select(p => p.Name).ShouldContain("yes");
        wf.Spec.Arguments!.Parameters!.Select(p => p.Name).ShouldContain("no");
    }

    [Theory]
    [InlineData("007")]
    [InlineData("\"7\"")]
    [InlineData("1.5")]
    [InlineData("true")]
    public void Integer_field_refuses_non_integers(string value)
    {
        var e = SingleError($"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typed
            spec:
              entrypoint: main
              parallelism: {value}
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.parallelism");
        e.Reason.ShouldBe("wrong type: expected an integer");
        e.Line.ShouldBe(7);
    }

    [Fact]
    public void Boolean_and_null_in_typed_fields()
    {
        var wf = ReadOne<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typed
            spec:
              entrypoint: main
              suspend: false
              onExit: null
              archiveLogs: True
              templates:
              - name: main
                failFast: true
                container:
                  image: alpine
            """);
        wf.Spec.Suspend.ShouldBe(false);
        wf.Spec.ArchiveLogs.ShouldBe(true);
        wf.Spec.OnExit.ShouldBeNull();
        wf.Spec.Templates![0].FailFast.ShouldBe(true);
    }

    [Fact]
    public void Boolean_field_refuses_a_string()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typed
            spec:
              entrypoint: main
              suspend: "yes"
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.suspend");
        e.Reason.ShouldBe("wrong type: expected true or false");
        e.Line.ShouldBe(7);
    }

    [Fact]
    public void String_field_refuses_a_mapping()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typed
            spec:
              entrypoint:
                name: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.entrypoint");
        e.Reason.ShouldBe("expected a string, got an object");
        e.Line.ShouldBe(7);
    }

    // ---- metadata ----

    [Fact]
    public void Metadata_fields_are_parsed()
    {
        var wf = ReadOne<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: meta
              namespace: team-a
              labels:
                app: gateway
                version: 2
              annotations:
                note: "hello: world"
                multi: |
                  line one
                  line two
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        wf.Metadata.Name.ShouldBe("meta");
        wf.Metadata.GenerateName.ShouldBeNull();
        wf.Metadata.Namespace.ShouldBe("team-a");
        wf.NamespaceOrDefault.ShouldBe("team-a");
        wf.Metadata.Labels.ShouldBe(new Dictionary<string, string> { ["app"] = "gateway", ["version"] = "2" });
        wf.Metadata.Annotations.ShouldBe(new Dictionary<string, string> { ["note"] = "hello: world", ["multi"] = "line one\nline two\n" });
        wf.Metadata.Uid.ShouldBeNull();
        wf.Metadata.ResourceVersion.ShouldBeNull();
    }

    [Fact]
    public void GenerateName_without_namespace_defaults_namespace()
    {
        var wf = ReadOne<Workflow>("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              generateName: nightly-
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        wf.Metadata.GenerateName.ShouldBe("nightly-");
        wf.Metadata.Name.ShouldBeNull();
        wf.Metadata.Namespace.ShouldBeNull();
        wf.NamespaceOrDefault.ShouldBe("default");
    }

    [Fact]
    public void Labels_must_be_a_mapping()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
              labels:
              - a
            """);
        e.Path.ShouldBe("metadata.labels");
        e.Reason.ShouldBe("wrong type: expected a mapping of strings");
        e.Line.ShouldBe(6);
        e.Kind.ShouldBe("ConfigMap");
        e.Name.ShouldBe("x");
    }

    // ---- unknown fields ----

    [Fact]
    public void Unknown_field_at_spec_level_names_the_field_and_its_line()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typo
            spec:
              entrypoint: main
              paralelism: 2
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.paralelism");
        e.Reason.ShouldBe("unknown field \"paralelism\"");
        e.Line.ShouldBe(7);
        e.Document.ShouldBe(0);
        e.Kind.ShouldBe("Workflow");
        e.Name.ShouldBe("typo");
        e.Source.ShouldBe(Source);
        e.ToString().ShouldBe("test.yaml:7: document 1 (Workflow/typo): spec.paralelism: unknown field \"paralelism\"");
    }

    [Fact]
    public void Unknown_field_inside_a_template_names_the_template_index()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typo
            spec:
              entrypoint: main
              templates:
              - name: main
                paralelism: 2
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.templates[0].paralelism");
        e.Reason.ShouldBe("unknown field \"paralelism\"");
        e.Line.ShouldBe(9);
    }

    [Fact]
    public void Unknown_field_in_second_template_deep_in_steps()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typo
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: a
                    template: work
              - name: work
                steps:
                - - name: b
                    template: leaf
                    argumentz: {}
              - name: leaf
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.templates[1].steps[0][0].argumentz");
        e.Reason.ShouldBe("unknown field \"argumentz\"");
        e.Line.ShouldBe(16);
    }

    [Fact]
    public void Field_names_are_case_sensitive()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: typo
            spec:
              entryPoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.entryPoint");
        e.Reason.ShouldBe("unknown field \"entryPoint\"");
        e.Line.ShouldBe(6);
    }

    // ---- wrong types ----

    [Fact]
    public void Parallelism_given_text_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: wrong
            spec:
              entrypoint: main
              parallelism: "abc"
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.parallelism");
        e.Reason.ShouldBe("wrong type: expected an integer");
        e.Line.ShouldBe(7);
        e.Kind.ShouldBe("Workflow");
        e.Name.ShouldBe("wrong");
    }

    [Fact]
    public void Templates_given_a_mapping_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: wrong
            spec:
              entrypoint: main
              templates: {}
            """);
        e.Path.ShouldBe("spec.templates");
        e.Reason.ShouldBe("wrong type: expected a list");
        e.Line.ShouldBe(7);
    }

    [Fact]
    public void WithItems_given_a_string_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: wrong
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: each
                    template: leaf
                    withItems: "x"
              - name: leaf
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.templates[0].steps[0][0].withItems");
        e.Reason.ShouldBe("wrong type: expected a list");
        e.Line.ShouldBe(12);
    }

    [Fact]
    public void Template_given_a_scalar_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: wrong
            spec:
              entrypoint: main
              templates:
              - main
            """);
        e.Path.ShouldBe("spec.templates[0]");
        e.Reason.ShouldBe("wrong type: expected a mapping");
        e.Line.ShouldBe(8);
    }

    [Fact]
    public void String_map_value_given_a_list_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              a: b
              c:
              - 1
            """);
        e.Path.ShouldBe("data.c");
        e.Reason.ShouldBe("expected a string, got a list");
        e.Line.ShouldBe(8);
    }

    [Fact]
    public void Time_field_given_a_number_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
              creationTimestamp: 5
            """);
        e.Path.ShouldBe("metadata.creationTimestamp");
        e.Reason.ShouldBe("expected an RFC 3339 time string, got number");
        e.Line.ShouldBe(5);
    }

    [Fact]
    public void Integer_out_of_range_is_a_wrong_type()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: big
            spec:
              entrypoint: main
              parallelism: 99999999999999999999
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("spec.parallelism");
        e.Reason.ShouldBe("wrong type: expected an integer");
    }

    [Fact]
    public void Error_in_a_dotted_key_points_at_that_key()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
              labels:
                team: a
                app.kubernetes.io/name: [x]
            """);
        e.Path.ShouldBe("metadata.labels['app.kubernetes.io/name']");
        e.Reason.ShouldBe("expected a string, got a list");
        e.Line.ShouldBe(7);
    }

    // ---- kind and apiVersion ----

    [Fact]
    public void Unknown_kind_lists_the_known_kinds()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflw
            metadata:
              name: x
            """);
        e.Path.ShouldBe("kind");
        e.Reason.ShouldBe("unknown kind 'Workflw'; expected one of Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, ConfigMap, Secret, PersistentVolumeClaim, EventSource, Sensor");
        e.Line.ShouldBe(2);
        e.Kind.ShouldBe("Workflw");
        e.Name.ShouldBe("x");
    }

    [Fact]
    public void Wrong_api_version_names_the_served_one()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1
            kind: Workflow
            metadata:
              name: x
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
            """);
        e.Path.ShouldBe("apiVersion");
        e.Reason.ShouldBe("'argoproj.io/v1' is not served for Workflow; use argoproj.io/v1alpha1");
        e.Line.ShouldBe(1);
        e.Kind.ShouldBe("Workflow");
    }

    [Fact]
    public void ConfigMap_with_argo_api_version_is_refused()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: ConfigMap
            metadata:
              name: x
            """);
        e.Path.ShouldBe("apiVersion");
        e.Reason.ShouldBe("'argoproj.io/v1alpha1' is not served for ConfigMap; use v1");
    }

    [Fact]
    public void Missing_api_version_is_refused()
    {
        var e = SingleError("""
            kind: Workflow
            metadata:
              name: x
            """);
        e.Path.ShouldBe("apiVersion");
        e.Reason.ShouldBe("missing: Workflow needs apiVersion argoproj.io/v1alpha1");
    }

    [Fact]
    public void Missing_kind_is_refused_at_the_document_line()
    {
        var errors = Errors("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: fine
            ---
            apiVersion: v1
            metadata:
              name: x
            """);
        errors.Count.ShouldBe(1);
        var e = errors[0];
        e.Path.ShouldBe("kind");
        e.Reason.ShouldBe("missing: every manifest needs a kind");
        e.Kind.ShouldBeNull();
        e.Document.ShouldBe(1);
        e.Line.ShouldBe(5);
    }

    [Fact]
    public void A_document_that_is_not_a_mapping_is_refused()
    {
        var e = SingleError("""
            - apiVersion: v1
              kind: ConfigMap
            """);
        e.Path.ShouldBe("");
        e.Reason.ShouldBe("a manifest must be a mapping with apiVersion, kind and metadata");
        e.Line.ShouldBe(1);
    }

    // ---- unparseable YAML ----

    [Fact]
    public void Bad_indentation_is_unparseable_yaml_with_a_line()
    {
        var e = SingleError("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: x
             namespace: y
            """);
        e.Reason.ShouldStartWith("unparseable YAML: ");
        e.Line.ShouldBe(5);
        e.Path.ShouldBe("");
        e.Kind.ShouldBeNull();
    }

    [Fact]
    public void Unclosed_quote_is_unparseable_yaml_with_a_line()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: "x
            data:
              a: b
            """);
        e.Reason.ShouldStartWith("unparseable YAML: ");
        e.Reason.ShouldContain("double-quoted scalar");
        e.Reason.ShouldNotContain("\n");
        e.Line.ShouldBe(4); // the line where the quote opens
        e.Document.ShouldBe(0);
    }

    [Fact]
    public void Tab_indentation_is_unparseable_yaml()
    {
        // YamlDotNet marks this error at 1:1 whatever line the tab is on, so only the reason is asserted.
        var e = SingleError("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n");
        e.Reason.ShouldBe("unparseable YAML: While scanning a mapping, found invalid tab as indentation.");
        e.Path.ShouldBe("");
    }

    [Fact]
    public void Anchors_on_mappings_and_unknown_aliases_are_refused()
    {
        var anchored = SingleError("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n");
        anchored.Reason.ShouldBe("unparseable YAML: anchors on mappings are not supported; anchor scalars instead");
        anchored.Line.ShouldBe(3);

        var list = SingleError("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  finalizers: &f [a]\n");
        list.Reason.ShouldBe("unparseable YAML: anchors on lists are not supported; anchor the items instead");
        list.Line.ShouldBe(5);

        var alias = SingleError("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: *nope\n");
        alias.Reason.ShouldBe("unparseable YAML: unknown alias '*nope'");
        alias.Line.ShouldBe(4);
    }

    [Fact]
    public void Duplicate_keys_are_refused_at_the_second_key()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              a: one
              b: two
              a: three
            """);
        e.Reason.ShouldBe("unparseable YAML: duplicate key 'a'");
        e.Line.ShouldBe(8);
    }

    [Fact]
    public void Duplicate_top_level_keys_are_refused()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            kind: Secret
            metadata:
              name: x
            """);
        e.Reason.ShouldBe("unparseable YAML: duplicate key 'kind'");
        e.Line.ShouldBe(3);
    }

    [Fact]
    public void Merge_keys_are_refused()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              <<: {a: b}
            """);
        e.Reason.ShouldBe("unparseable YAML: YAML merge keys (<<) are not supported");
        e.Line.ShouldBe(6);
    }

    [Fact]
    public void Scalar_anchors_and_aliases_are_expanded()
    {
        var cm = ReadOne<ConfigMap>("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              a: &v "1.10"
              b: *v
            """);
        cm.Data.ShouldBe(new Dictionary<string, string> { ["a"] = "1.10", ["b"] = "1.10" });
    }

    [Fact]
    public void Unparseable_yaml_in_a_later_document_names_that_document()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: a
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: b
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: c
              name: d
            """);
        e.Reason.ShouldBe("unparseable YAML: duplicate key 'name'");
        e.Line.ShouldBe(15);
        e.Document.ShouldBe(2);
    }

    // ---- collecting errors across documents ----

    [Fact]
    public void Errors_from_every_document_are_collected_and_name_their_document()
    {
        var ex = Should.Throw<ManifestException>(() => ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: first
            spec:
              templates:
              - name: main
                container:
                  image: alpine
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: second
            spec:
              entrypoint: main
              paralelism: 2
              templates:
              - name: main
                container:
                  image: alpine
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: fine
            """, Source));
        var errors = ex.Errors;
        errors.Count.ShouldBe(2, string.Join(Environment.NewLine, errors));

        errors[0].Document.ShouldBe(0);
        errors[0].Name.ShouldBe("first");
        errors[0].Path.ShouldBe("spec.entrypoint");
        errors[0].Reason.ShouldBe("missing: name the template to start with");

        errors[1].Document.ShouldBe(1);
        errors[1].Name.ShouldBe("second");
        errors[1].Kind.ShouldBe("Workflow");
        errors[1].Path.ShouldBe("spec.paralelism");
        errors[1].Reason.ShouldBe("unknown field \"paralelism\"");
        errors[1].Line.ShouldBe(17);
        errors[1].ToString().ShouldBe("test.yaml:17: document 2 (Workflow/second): spec.paralelism: unknown field \"paralelism\"");

        ex.Message.ShouldBe(string.Join(Environment.NewLine, errors.Select(e => e.ToString())));
    }

    [Fact]
    public void Validation_errors_within_one_document_are_all_reported_with_lines()
    {
        var errors = Errors("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata:
              name: Bad_Name
            spec:
              entrypoint: nope
              templates:
              - name: main
                container:
                  image: alpine
              - name: main
                container:
                  image: alpine
            """);
        errors.Select(e => (e.Path, e.Line)).ShouldBe(
        [
            ("metadata.name", 4),
            ("spec.templates[1].name", 11),
            ("spec.entrypoint", 6),
        ], ignoreOrder: true);
        errors.ShouldAllBe(e => e.Document == 0 && e.Kind == "Workflow" && e.Name == "Bad_Name");
    }

    // ---- ConfigMap and Secret ----

    [Fact]
    public void ConfigMap_data_and_binary_data_are_read()
    {
        var cm = ReadOne<ConfigMap>("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: ops
            data:
              port: 8080
              ratio: 1.50
              enabled: true
              text: hello
            binaryData:
              blob: aGVsbG8=
            immutable: true
            """);
        cm.Metadata.Namespace.ShouldBe("ops");
        cm.Data.ShouldBe(new Dictionary<string, string> { ["port"] = "8080", ["ratio"] = "1.50", ["enabled"] = "true", ["text"] = "hello" });
        cm.BinaryData.ShouldNotBeNull()["blob"].ShouldBe("aGVsbG8=");
        cm.Immutable.ShouldBe(true);
    }

    [Fact]
    public void Secret_value_decodes_base64_and_prefers_string_data()
    {
        var secret = ReadOne<Secret>("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: creds
            type: Opaque
            data:
              user: YWRtaW4=
              password: b2xk
              broken: "!!!not base64"
            stringData:
              password: new-secret
              token: plain
            """);
        secret.Type.ShouldBe("Opaque");
        secret.Value("user").ShouldBe("admin");
        secret.Value("password").ShouldBe("new-secret");
        secret.Value("token").ShouldBe("plain");
        secret.Value("broken").ShouldBeNull();
        secret.Value("missing").ShouldBeNull();
        secret.Data.ShouldNotBeNull()["password"].ShouldBe("b2xk");
    }

    [Fact]
    public void ConfigMap_unknown_top_level_field_is_refused()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            date:
              a: b
            """);
        e.Path.ShouldBe("date");
        e.Reason.ShouldBe("unknown field \"date\"");
        e.Line.ShouldBe(6);
    }

    [Fact]
    public void ReadFile_uses_the_path_as_source()
    {
        var dir = Directory.CreateTempSubdirectory("egw-reader-");
        try
        {
            var path = Path.Combine(dir.FullName, "bad.yaml");
            File.WriteAllText(path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nbogus: 1\n");
            var e = Should.Throw<ManifestException>(() => ManifestReader.ReadFile(path)).Errors.Single();
            e.Source.ShouldBe(path);
            e.Path.ShouldBe("bogus");
            e.Line.ShouldBe(5);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
