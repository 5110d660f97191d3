package message

import "github.com/emersion/go-imap/v2"

// BodyStructure returns the extended BODYSTRUCTURE (RFC 3501 §7.4.2);
// imapserver writes the non-extended BODY form from the same value.
func (s *Summary) BodyStructure() imap.BodyStructure { return s.Root.bodyStructure() }

func (p *Part) bodyStructure() imap.BodyStructure {
	var disp *imap.BodyStructureDisposition
	if p.Disposition != "" {
		disp = &imap.BodyStructureDisposition{Value: p.Disposition, Params: p.DispParams}
	}
	if p.IsMultipart() && len(p.Children) > 0 {
		mp := &imap.BodyStructureMultiPart{Subtype: p.Subtype, Extended: &imap.BodyStructureMultiPartExt{
			Params: p.Params, Disposition: disp, Language: p.Language, Location: p.Location,
		}}
		for _, c := range p.Children {
			mp.Children = append(mp.Children, c.bodyStructure())
		}
		return mp
	}
	typ := p.Type
	if typ == "multipart" { // corrupt-but-decodable blob: never hand imapserver an empty multipart
		typ = "application"
	}
	sp := &imap.BodyStructureSinglePart{
		Type: typ, Subtype: p.Subtype, Params: p.Params,
		ID: p.ID, Description: p.Description, Encoding: p.Encoding,
		Size:     uint32(min(p.End-p.BodyStart, 1<<32-1)),
		Extended: &imap.BodyStructureSinglePartExt{Disposition: disp, Language: p.Language, Location: p.Location},
	}
	switch {
	case p.Message != nil:
		sp.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope: p.Envelope, BodyStructure: p.Message.bodyStructure(), NumLines: p.Lines,
		}
	case p.Type == "text":
		sp.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	return sp
}
