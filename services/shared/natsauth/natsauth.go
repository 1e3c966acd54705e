package natsauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// Service users, and the admin user of operators.
const (
	UserAdmin     = "admin"
	UserGateway   = "gateway"
	UserRouter    = "router"
	UserAdapter   = "adapter"
	UserEscalator = "escalator"
	UserSamenloop = "samenloop"
	UserMonitor   = "monitor"
)

// PasswordEnvPrefix starts the name of every password variable.
const PasswordEnvPrefix = "KETENBUS_NATS_PASSWORD_"

// ErrInvalidConfig is returned (wrapped) by Users and Authorization for a
// nil region config or a partner id that cannot be used in a NATS subject.
var ErrInvalidConfig = errors.New("natsauth: invalid region config")

// PartnerUser returns the NATS user of a NATS-native partner:
// "partner-<id>". The prefix keeps partner users apart from the service
// users whatever the partner id.
func PartnerUser(partnerID string) string { return "partner-" + partnerID }

// PasswordEnv returns the environment variable holding the password of
// user: PasswordEnvPrefix followed by the user in upper case with '-'
// as '_', such as KETENBUS_NATS_PASSWORD_PARTNER_WONINGCORPORATIE.
func PasswordEnv(user string) string {
	return PasswordEnvPrefix + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
}

// InboxPrefix returns the only inbox prefix user may receive replies on:
// "_INBOX_<user>". A client connects with nats.CustomInboxPrefix of it.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// Permissions are the subjects a user may publish to and subscribe to. An
// allow list denies everything it does not name; a deny entry wins over
// an allow entry.
type Permissions struct {
	PublishAllow, PublishDeny     []string
	SubscribeAllow, SubscribeDeny []string
}

// User is one NATS user.
type User struct {
	// Name is the user name.
	Name string
	// About says what the user is for; it becomes a comment.
	About string
	// PasswordEnv names the environment variable with the password.
	PasswordEnv string
	// Permissions is nil for a user that may do everything (admin).
	Permissions *Permissions
}

// Users returns the users of the region: admin, the services, then one per
// NATS-native partner in config order. Errors: ErrInvalidConfig.
func Users(cfg *region.Config) ([]User, error) { return users(cfg, "") }

// AccountUsers returns the users of the region in account (see Account):
// those of Users, each name preceded by "<account>-", such as
// "groningen-gateway", its password variable and inbox prefix following
// (KETENBUS_NATS_PASSWORD_GRONINGEN_GATEWAY, _INBOX_groningen-gateway).
// Errors: ErrInvalidConfig, also for an account that is not a region id.
func AccountUsers(cfg *region.Config, account string) ([]User, error) {
	if !events.ValidPartnerID(account) {
		return nil, fmt.Errorf("%w: account %q: lowercase letters, digits and '-'", ErrInvalidConfig, account)
	}
	return users(cfg, account+"-")
}

func users(cfg *region.Config, prefix string) ([]User, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidConfig)
	}
	var webhooks, natives []string
	for _, p := range cfg.Partners {
		if !events.ValidPartnerID(p.ID) || p.ID == events.Producer {
			return nil, fmt.Errorf("%w: partner id %q", ErrInvalidConfig, p.ID)
		}
		switch {
		case p.Delivery.Webhook != nil:
			webhooks = append(webhooks, p.ID)
		case p.Delivery.NATS != nil:
			natives = append(natives, p.ID)
		}
	}
	svc := func(name, about string, p *Permissions) User { return service(prefix+name, about, p) }
	users := []User{
		{Name: prefix + UserAdmin, PasswordEnv: PasswordEnv(prefix + UserAdmin), About: "operators: creates the streams and the consumers of NATS-native partners, replays, repairs the DLQ; may do everything, keep its password out of every service"},
		svc(UserGateway, "publishes the partners' events to EVENTS (Nats-Msg-Id, atomic batches); never events in the name of ketenbus",
			&Permissions{
				PublishAllow: []string{
					"ketenbus.events.*.*.*",
					api("STREAM.INFO", events.StreamEvents),
				},
				PublishDeny: []string{"ketenbus.events.*.*." + events.Producer},
			}),
		svc(UserRouter, "consumes EVENTS (durable "+bus.ConsumerRouter+"), publishes DELIVERY and AUDIT",
			&Permissions{
				PublishAllow: append(consume(events.StreamEvents, bus.ConsumerRouter, events.SubjectEventsAll),
					events.DeliverySubject("*"),
					auditAll),
			}),
		svc(UserAdapter, "consumes DELIVERY for each webhook partner (durable adapter-<partner>), publishes DLQ, AUDIT and ACTIVITY, keeps the "+bus.RetiredBucket+" bucket",
			adapterPermissions(webhooks)),
		svc(UserEscalator, "consumes EVENTS (durable "+bus.ConsumerEscalator+"), publishes escalaties to EVENTS and AUDIT, rebuilds its timers from EVENTS",
			rebuildsFromEvents(bus.ConsumerEscalator, &Permissions{
				PublishAllow: append(consume(events.StreamEvents, bus.ConsumerEscalator, ""),
					events.EventSubject(events.TypeEscalatie, events.Producer),
					auditAll),
			})),
		svc(UserSamenloop, "consumes EVENTS (durable "+bus.ConsumerSamenloop+"), reads stored signalen by sequence, publishes samenloop events to EVENTS and AUDIT, rebuilds its index from EVENTS",
			rebuildsFromEvents(bus.ConsumerSamenloop, &Permissions{
				PublishAllow: append(consume(events.StreamEvents, bus.ConsumerSamenloop, ""),
					events.EventSubject(events.TypeSamenloop, events.Producer),
					auditAll),
			})),
		svc(UserMonitor, "reads EVENTS, ACTIVITY and the DLQ with ordered consumers, the state of the DELIVERY consumers and the "+bus.RetiredBucket+" bucket; retries dead letters (publishes DELIVERY, deletes from the DLQ)",
			monitorPermissions()),
	}
	for _, id := range natives {
		name, durable := prefix+PartnerUser(id), bus.PartnerConsumer(id)
		users = append(users, User{
			Name:        name,
			About:       "NATS-native partner " + id + ": pulls from and acknowledges its own consumer " + durable + " on DELIVERY, nothing else",
			PasswordEnv: PasswordEnv(name),
			Permissions: &Permissions{
				PublishAllow: []string{
					api("CONSUMER.INFO", events.StreamDelivery, durable),
					api("CONSUMER.MSG.NEXT", events.StreamDelivery, durable),
					ack(events.StreamDelivery, durable),
				},
				SubscribeAllow: []string{InboxPrefix(name) + ".>"},
			},
		})
	}
	return users, nil
}

// auditAll is the AUDIT subject of every partner: the services that
// process events for partners log it there (Logboek Dataverwerkingen).
var auditAll = events.AuditSubject("*")

// service completes the user of a service with its password variable and
// its inbox.
func service(name, about string, p *Permissions) User {
	p.SubscribeAllow = append(p.SubscribeAllow, InboxPrefix(name)+".>")
	return User{Name: name, About: about, PasswordEnv: PasswordEnv(name), Permissions: p}
}

// consume returns what consuming the durable pull consumer durable of
// stream takes: creating or updating it, pulling, and acknowledging. With
// one filter subject, the API subject names it and nats-server refuses a
// config with another filter, so the user cannot widen its consumer; a
// consumer with several filter subjects (filter "") is created on the API
// subject without one.
func consume(stream, durable, filter string) []string {
	create := api("CONSUMER.CREATE", stream, durable)
	if filter != "" {
		create = api("CONSUMER.CREATE", stream, durable, filter)
	}
	return []string{
		create,
		api("CONSUMER.INFO", stream, durable), // the backlog gauges, at each scrape
		api("CONSUMER.MSG.NEXT", stream, durable),
		ack(stream, durable),
	}
}

// rebuildsFromEvents adds to p what a service with durable own on EVENTS
// needs to rebuild its projection in Redis from EVENTS by itself: the
// stream's info, single messages, and reading it with ordered consumers,
// which get generated names. It may not create, change, pull from or
// delete another service's durable.
func rebuildsFromEvents(own string, p *Permissions) *Permissions {
	p.PublishAllow = append(p.PublishAllow,
		api("STREAM.INFO", events.StreamEvents),
		api("STREAM.MSG.GET", events.StreamEvents),
		api("CONSUMER.CREATE", events.StreamEvents, "*"),
		api("CONSUMER.CREATE", events.StreamEvents, "*", ">"),
		api("CONSUMER.INFO", events.StreamEvents, "*"),
		api("CONSUMER.MSG.NEXT", events.StreamEvents, "*"),
		api("CONSUMER.DELETE", events.StreamEvents, "*"),
	)
	for _, durable := range []string{bus.ConsumerRouter, bus.ConsumerEscalator, bus.ConsumerSamenloop} {
		if durable == own {
			continue
		}
		p.PublishDeny = append(p.PublishDeny,
			api("CONSUMER.CREATE", events.StreamEvents, durable),
			api("CONSUMER.CREATE", events.StreamEvents, durable, ">"),
			api("CONSUMER.MSG.NEXT", events.StreamEvents, durable),
			api("CONSUMER.DELETE", events.StreamEvents, durable))
	}
	return p
}

func adapterPermissions(webhookPartners []string) *Permissions {
	p := &Permissions{}
	for _, id := range webhookPartners {
		p.PublishAllow = append(p.PublishAllow, consume(events.StreamDelivery, bus.AdapterConsumer(id), events.DeliverySubject(id))...)
	}
	kvStream := bus.BucketStream(bus.RetiredBucket)
	p.PublishAllow = append(p.PublishAllow,
		events.DLQSubject("*"),
		api("STREAM.INFO", events.StreamDLQ), // ketenbus_dlq_messages, at each scrape
		auditAll,
		activity.Subject("*"),
		// The ketenbus-retired bucket: created at start when missing,
		// read and watched, written on 410 Gone.
		api("INFO"),
		api("STREAM.CREATE", kvStream),
		api("STREAM.UPDATE", kvStream),
		api("STREAM.INFO", kvStream),
		api("CONSUMER.CREATE", kvStream, ">"),
		api("CONSUMER.DELETE", kvStream, ">"),
		api("DIRECT.GET", kvStream, ">"),
		"$JS.FC."+kvStream+".>",
		"$KV."+bus.RetiredBucket+".>",
	)
	return p
}

// monitorPermissions: the monitor reads with ordered consumers, which
// get generated names, so it may create consumers on the streams it reads;
// it may not create or change the services' durables there.
func monitorPermissions() *Permissions {
	kvStream := bus.BucketStream(bus.RetiredBucket)
	p := &Permissions{}
	for _, stream := range []string{events.StreamEvents, activity.Stream, events.StreamDLQ} {
		p.PublishAllow = append(p.PublishAllow,
			api("STREAM.INFO", stream),
			api("CONSUMER.CREATE", stream, "*"),
			api("CONSUMER.CREATE", stream, "*", ">"),
			api("CONSUMER.INFO", stream, "*"),
			api("CONSUMER.MSG.NEXT", stream, "*"),
			api("CONSUMER.DELETE", stream, "*"),
		)
	}
	for _, durable := range []string{bus.ConsumerRouter, bus.ConsumerEscalator, bus.ConsumerSamenloop} {
		p.PublishDeny = append(p.PublishDeny,
			api("CONSUMER.CREATE", events.StreamEvents, durable),
			api("CONSUMER.CREATE", events.StreamEvents, durable, ">"),
			api("CONSUMER.DELETE", events.StreamEvents, durable))
	}
	p.PublishAllow = append(p.PublishAllow,
		// The state of every partner's delivery: its consumer, and the
		// oldest message it has not acknowledged.
		api("STREAM.INFO", events.StreamDelivery),
		api("CONSUMER.INFO", events.StreamDelivery, "*"),
		api("STREAM.MSG.GET", events.StreamDelivery),
		// Retry: the dead letter back on DELIVERY, then out of the DLQ.
		api("STREAM.MSG.GET", events.StreamDLQ),
		api("STREAM.MSG.DELETE", events.StreamDLQ),
		events.DeliverySubject("*"),
		// Retired subscriptions: read and watched (a watch answers the
		// server's flow control).
		api("STREAM.INFO", kvStream),
		api("CONSUMER.CREATE", kvStream, "*", ">"),
		api("CONSUMER.DELETE", kvStream, "*"),
		api("DIRECT.GET", kvStream, ">"),
		"$JS.FC."+kvStream+".>",
	)
	return p
}

// api returns a JetStream API subject: $JS.API.<what>[.<token>...].
func api(what string, tokens ...string) string {
	return strings.Join(append([]string{"$JS.API." + what}, tokens...), ".")
}

// ack returns the subject the acknowledgements of a consumer go to. It
// names the stream and the consumer, so a user can acknowledge the
// messages of its own consumer only. This is nats-server's v1 format
// ($JS.ACK.<stream>.<consumer>.…), its default up to 2.15; a server that
// switches on the v2 format (feature flag js_ack_fc_v2) needs it changed.
func ack(stream, durable string) string {
	return "$JS.ACK." + stream + "." + durable + ".>"
}

// Authorization returns the authorization block of nats-server for the
// region: every user of Users with its permissions, each password a
// reference to its environment variable. The text is the same for the same
// config, so a file generated from it can be checked for staleness.
// Errors: ErrInvalidConfig.
func Authorization(cfg *region.Config) (string, error) {
	users, err := Users(cfg)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Code generated by natsauth for region %s; DO NOT EDIT.\n", strconv.Quote(cfg.Region))
	b.WriteString("# Regenerate after changing the partners of the region config, from the\n")
	b.WriteString("# repository root:\n")
	b.WriteString("#     go run ./services/shared/natsauth/cmd/natsauth -region <region.yaml> -o deploy/nats/authorization.conf\n")
	b.WriteString("#\n")
	b.WriteString("# One user per ketenbus service, an admin user for operators, and one per\n")
	b.WriteString("# NATS-native partner. Every password is an environment variable, read when\n")
	b.WriteString("# nats-server loads this file. Every user receives replies only on its own\n")
	b.WriteString("# inbox prefix, _INBOX_<user>: connect with nats.CustomInboxPrefix.\n")
	b.WriteString("authorization {\n")
	writeUsers(&b, users)
	b.WriteString("}\n")
	return b.String(), nil
}

// Account returns the account of the region in a nats-server that holds
// several regions, one account each (a national deployment): the
// account's JetStream, with the streams of its region only, and the users
// of AccountUsers, who see nothing of another account. A server's config
// includes it within its accounts block:
//
//	accounts {
//	  include ./accounts/groningen.conf
//	}
//
// Errors: ErrInvalidConfig.
func Account(cfg *region.Config, account string) (string, error) {
	users, err := AccountUsers(cfg, account)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Code generated by natsauth for region %s in account %s; DO NOT EDIT.\n", strconv.Quote(cfg.Region), strconv.Quote(account))
	b.WriteString("# Regenerate after changing the partners of the region config, from the\n")
	b.WriteString("# repository root:\n")
	fmt.Fprintf(&b, "#     go run ./services/shared/natsauth/cmd/natsauth -region <region.yaml> -account %s -o deploy/nats/accounts/%s.conf\n", account, account)
	b.WriteString("#\n")
	b.WriteString("# The region's own account, included in the accounts block of a server\n")
	b.WriteString("# that holds several regions: its JetStream and its users, each named\n")
	fmt.Fprintf(&b, "# %s-<user>, with the permissions of a server of one region. Every\n", account)
	b.WriteString("# password is an environment variable, read when nats-server loads this\n")
	b.WriteString("# file; run each service with --nats-user <account>-<service>.\n")
	fmt.Fprintf(&b, "%s: {\n", strconv.Quote(account))
	b.WriteString("  jetstream: enabled\n")
	writeUsers(&b, users)
	b.WriteString("}\n")
	return b.String(), nil
}

// writeUsers writes the users list of an authorization or account block.
func writeUsers(b *strings.Builder, users []User) {
	b.WriteString("  users: [\n")
	for i, u := range users {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "    # %s: %s\n", u.Name, u.About)
		b.WriteString("    {\n")
		fmt.Fprintf(b, "      user: %s\n", strconv.Quote(u.Name))
		fmt.Fprintf(b, "      password: $%s\n", u.PasswordEnv)
		if p := u.Permissions; p != nil {
			b.WriteString("      permissions: {\n")
			section(b, "publish", p.PublishAllow, p.PublishDeny)
			section(b, "subscribe", p.SubscribeAllow, p.SubscribeDeny)
			b.WriteString("      }\n")
		}
		b.WriteString("    }\n")
	}
	b.WriteString("  ]\n")
}

// section writes the publish or subscribe permissions; with neither allow
// nor deny entries nothing is allowed.
func section(b *strings.Builder, name string, allow, deny []string) {
	fmt.Fprintf(b, "        %s: {\n", name)
	list(b, "allow", allow)
	if len(deny) > 0 {
		list(b, "deny", deny)
	}
	b.WriteString("        }\n")
}

func list(b *strings.Builder, name string, subjects []string) {
	if len(subjects) == 0 {
		fmt.Fprintf(b, "          %s: []\n", name)
		return
	}
	fmt.Fprintf(b, "          %s: [\n", name)
	for i, s := range subjects {
		sep := ","
		if i == len(subjects)-1 {
			sep = ""
		}
		// Quoted: an unquoted $JS... would be read as a variable.
		fmt.Fprintf(b, "            %s%s\n", strconv.Quote(s), sep)
	}
	b.WriteString("          ]\n")
}
