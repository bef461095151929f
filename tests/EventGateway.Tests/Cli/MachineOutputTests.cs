using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Model.Manifests;
using Shouldly;

namespace EventGateway.Tests.Cli;

/// <summary>`-o yaml` reads back as the JSON it was made from: strings YAML would take for another type stay strings.</summary>
public sealed class MachineOutputTests
{
    [Theory]
    [InlineData("""{"s": "1", "n": 1, "f": 1.5, "e": "1e3", "t": "true", "b": true, "no": "no", "y": "y", "null": null, "nullText": "null", "empty": "", "tilde": "~"}""")]
    [InlineData("""{"script": "echo one\necho two\n", "colon": "a: b", "hash": "# not a comment", "dash": "- x", "quote": "it's \"quoted\"", "unicode": "naïve ✔"}""")]
    [InlineData("""[{"name": "a", "items": [1, "2", {"deep": [true, "false"]}]}, [], {}]""")]
    public void Yaml_reads_back_as_the_same_json(string json)
    {
        var yaml = MachineOutput.Yaml.Text(json);
        var back = JsonNode.Parse(YamlToJson.Convert(yaml).Single().Json);
        JsonNode.DeepEquals(back, JsonNode.Parse(json)).ShouldBeTrue($"YAML:\n{yaml}\nread back as {back?.ToJsonString()}");
    }
}
