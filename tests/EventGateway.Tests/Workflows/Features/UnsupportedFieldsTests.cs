using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using Shouldly;

namespace EventGateway.Tests.Workflows.Features;

/// <summary>Fields that would change what a workflow does and that egw does not implement are refused at load, by name and with the reason.</summary>
public sealed class UnsupportedFieldsTests
{
    private static IReadOnlyList<ManifestError> Check(string templates, string spec = "")
    {
        var yaml = $"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {"{name: w}"}
            spec:
              entrypoint: main
            {spec}
              templates:
            {templates}
            """;
        try
        {
            ManifestReader.Read(yaml, "w.yaml");
            return [];
        }
        catch (ManifestException e) { return e.Errors; }
    }

    private const string Main = """
          - name: main
            container: {image: alpine, command: [echo, hi]}
        """;

    [Theory]
    [InlineData("    podSpecPatch: '{\"containers\":[{\"name\":\"main\"}]}'", "spec.templates[0].podSpecPatch", "not supported: it patches a Kubernetes pod spec")]
    [InlineData("    initContainers: [{name: init, image: alpine, command: [echo]}]", "spec.templates[0].initContainers", "not supported: run that work as an earlier step")]
    [InlineData("    hostAliases: [{ip: 10.0.0.1, hostnames: [a]}]", "spec.templates[0].hostAliases", "read-only /etc/hosts")]
    [InlineData("    archiveLocation: {s3: {key: x}}", "spec.templates[0].archiveLocation", "archiveLocation may only set archiveLogs")]
    [InlineData("    sidecars: [{name: s, image: nginx}]", "spec.templates[0].sidecars[0].command", "cannot use the entrypoint of image 'nginx'")]
    [InlineData("    inputs: {artifacts: [{name: a, path: /a, gcs: {bucket: b, key: k}}]}", "spec.templates[0].inputs.artifacts[0].gcs", "gcs artifacts have no driver here")]
    [InlineData("    inputs: {artifacts: [{name: a, path: /a, git: {repo: 'git@github.com:argoproj/argo-workflows.git'}}]}", "spec.templates[0].inputs.artifacts[0].git.repo", "ssh clones are not supported")]
    [InlineData("    inputs: {artifacts: [{name: a, path: /a, git: {repo: 'https://x/y.git', singleBranch: true}}]}", "spec.templates[0].inputs.artifacts[0].git.branch", "singleBranch needs the branch")]
    [InlineData("    inputs: {artifacts: [{name: a, path: /a, http: {url: 'ftp://x/y'}}]}", "spec.templates[0].inputs.artifacts[0].http.url", "is not an http or https URL")]
    public void Template_fields_without_an_implementation_are_refused_by_name(string field, string path, string reason)
    {
        var errors = Check(Main + "\n" + field);
        errors.ShouldContain(e => e.Path == path && e.Reason.Contains(reason), string.Join(Environment.NewLine, errors));
    }

    [Theory]
    [InlineData("  podSpecPatch: 'x: y'", "spec.podSpecPatch")]
    [InlineData("  hostNetwork: true", "spec.hostNetwork")]
    [InlineData("  dnsConfig: {nameservers: [1.2.3.4]}", "spec.dnsConfig")]
    [InlineData("  hostAliases: [{ip: 10.0.0.1, hostnames: [a]}]", "spec.hostAliases")]
    public void Workflow_fields_without_an_implementation_are_refused_by_name(string field, string path)
    {
        var errors = Check(Main, field);
        errors.ShouldHaveSingleItem(string.Join(Environment.NewLine, errors)).Path.ShouldBe(path);
    }

    [Fact]
    public void Scheduling_fields_are_accepted_and_have_no_effect()
    {
        Check(Main + """

                nodeSelector: {disk: ssd}
                tolerations: [{key: k, operator: Exists}]
                affinity: {nodeAffinity: {}}
                priorityClassName: high
                serviceAccountName: sa
                archiveLocation: {archiveLogs: true}
            """, """
              nodeSelector: {disk: ssd}
              serviceAccountName: sa
              podGC: {strategy: OnPodCompletion}
              hostNetwork: false
            """).ShouldBeEmpty();
    }

    [Fact]
    public void A_daemon_needs_a_container_and_a_probe_egw_can_run()
    {
        var errors = Check("""
              - name: main
                daemon: true
                container:
                  image: alpine
                  command: [sleep, "100"]
                  readinessProbe: {tcpSocket: {port: 80}}
              - name: steps
                daemon: true
                steps: [[{name: a, template: main}]]
            """);
        errors.Select(e => e.Path).ShouldBe(["spec.templates[0].container.readinessProbe", "spec.templates[1].daemon"], ignoreOrder: true);
    }

    [Fact]
    public void A_data_template_needs_artifactPaths_with_an_s3_location()
    {
        var errors = Check("""
              - name: main
                data:
                  source: {artifactPaths: {name: a, http: {url: 'http://x/'}}}
                  transformation: [{expression: ""}]
            """);
        errors.Select(e => e.Path).ShouldBe(["spec.templates[0].data.source.artifactPaths", "spec.templates[0].data.transformation[0].expression"], ignoreOrder: true);
    }
}
