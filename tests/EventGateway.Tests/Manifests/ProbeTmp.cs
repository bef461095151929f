using EventGateway.Manifests;
using Xunit;
namespace EventGateway.Tests.Manifests;
public class ProbeTmp
{
    [Fact]
    public void Probe()
    {
        var outp = new System.Text.StringBuilder();
        foreach (var y in new[]{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"x\ndata:\n  a: b\n", "a: 1\nb: 2\nc:\n  d: 1\n e: 2\n"})
        try { YamlToJson.Convert(y); }
        catch (YamlDotNet.Core.YamlException e) { outp.AppendLine($"{e.Start.Line}:{e.Start.Column} - {e.End.Line}:{e.End.Column} {e.Message}"); }
        File.WriteAllText("/tmp/probe.txt", outp.ToString());
    }
}
