using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EventGateway.Cli.Output;

/// <summary>
/// `-o json` and `-o yaml`: what a command prints for machines. Commands produce JSON; YAML is that JSON's
/// document, written so it reads back to the same values (strings that YAML would take for a number, a
/// boolean or null are quoted), as `argo get -o yaml` prints manifests users apply again.
/// </summary>
internal abstract partial class MachineOutput
{
    public static MachineOutput Json { get; } = new JsonOutput();
    public static MachineOutput Yaml { get; } = new YamlOutput();

    /// <summary>The output for a command's JSON text.</summary>
    public abstract string Text(string json);

    private sealed class JsonOutput : MachineOutput
    {
        public override string Text(string json) => json;
    }

    private sealed class YamlOutput : MachineOutput
    {
        public override string Text(string json)
        {
            var stream = new YamlStream(new YamlDocument(Node(JsonNode.Parse(json))));
            using var writer = new StringWriter();
            stream.Save(writer, assignAnchors: false);
            var text = writer.ToString();
            // YamlStream ends a document with "...": one document needs no end marker.
            return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
        }
    }

    private static YamlNode Node(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(p => new KeyValuePair<YamlNode, YamlNode>(Scalar(p.Key), Node(p.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(Node)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Scalar(v.GetValue<string>()),
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        _ => new YamlScalarNode(node.ToJsonString()) { Style = ScalarStyle.Plain },
    };

    private static YamlScalarNode Scalar(string s) => new(s)
    {
        Style = s.Contains('\n') ? ScalarStyle.Literal : NotPlainString().IsMatch(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any,
    };

    /// <summary>Strings a YAML reader would take for something else (YAML 1.1 and 1.2 booleans, null, numbers), or empty.</summary>
    [GeneratedRegex(@"^(|~|null|true|false|yes|no|on|off|y|n|[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.inf|\.nan)$", RegexOptions.IgnoreCase)]
    private static partial Regex NotPlainString();
}
