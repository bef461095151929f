using EventGateway.Model;
using EventGateway.Server.Hosting;
using Shouldly;

namespace EventGateway.Tests.Model.Manifests;

/// <summary>go-yaml's leniency that Argo's own examples rely on (volumes-emptydir.yaml, sidecar.yaml).</summary>
public sealed class QuotedContinuationTests
{
    [Fact]
    public void A_quoted_scalar_closed_at_its_keys_indentation_reads_as_go_yaml_reads_it()
    {
        var docs = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: lenient}
            spec:
              entrypoint: main
              templates:
              - name: main
                container:
                  image: alpine
                  command: [sh, -c]
                  args: ["
                    echo \"a b\";
                    echo c
                  "]
            """, "lenient.yaml");
        docs.OfType<Workflow>().Single().Spec.Templates![0].Container!.Args.ShouldBe([" echo \"a b\"; echo c "]);
    }

    [Fact]
    public void A_quoted_scalar_that_never_closes_still_fails_and_the_leniency_ends()
    {
        var error = Should.Throw<EventGateway.Model.Manifests.ManifestException>(() => ManifestReader.Read("kind: Workflow\nmetadata:\n  name: \"open\nspec: {}\n", "bad.yaml"));
        error.Message.ShouldContain("bad.yaml");
        error.Message.ShouldContain("unparseable YAML");
    }
}
