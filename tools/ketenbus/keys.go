package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/tools/internal/devstack"
)

func newKeysCmd() *cobra.Command {
	return newGroupCmd("keys", "Make keys for the region", newKeysGenerateCmd(), newKeysEnvCmd())
}

// redisPasswordEnv holds the password of the region's Redis
// (deploy/redis): 32 random bytes in hex, which a Redis URL takes without
// escaping.
const redisPasswordEnv = "KETENBUS_REDIS_PASSWORD"

func newKeysEnvCmd() *cobra.Command {
	var config, file, format, part string
	cmd := &cobra.Command{
		Use:   "env --file FILE",
		Short: "Keep every secret of a region in an env file, generating the missing ones",
		Long: `Env keeps every secret a region needs in FILE, as export lines a shell can
source: the secrets the region config names (pseudonym_key_env,
encryption_key_env, the partners' token_env, the webhooks' secret_env and
token_env, monitor.token_env), the JetStream key (KETENBUS_JETSTREAM_KEY),
the NATS password of every user of the region (KETENBUS_NATS_PASSWORD_<USER>,
the users of deploy/nats) and the Redis password (KETENBUS_REDIS_PASSWORD).

Each value comes from the environment, else from FILE, else it is generated
(token_sha256_env never is). FILE is written readable by its owner only and
keeps its values from one run to the next, so run it again after adding a
partner: only the new secrets are made. No value is printed; every process
of the region must read the same ones, from this file or from a secret
store filled from it.

--format env writes NAME=value lines instead of export lines, for
kustomize's secretGenerator (deploy/kubernetes), docker --env-file and
systemd's EnvironmentFile. --part keeps one part in a file of its own, for
a Secret each: the region's secrets (every service reads them), the NATS
passwords and the JetStream key (nats-server reads them; each service
only its own password), the Redis password.`,
		Example: `  ketenbus keys env --config region.yaml --file /etc/ketenbus/region.env
  set -a; source /etc/ketenbus/region.env; set +a

  # the Secrets of deploy/kubernetes
  cd deploy/kubernetes/overlays/region
  for part in region nats redis; do
    ketenbus keys env --config region.yaml --format env --part $part --file $part.env
  done`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return &usageError{errors.New("--file is missing: the env file to keep the secrets in")}
			}
			if format != "shell" && format != "env" {
				return &usageError{fmt.Errorf("--format %q: shell (export lines) or env (NAME=value lines)", format)}
			}
			if !slices.Contains([]string{"all", "region", "nats", "redis"}, part) {
				return &usageError{fmt.Errorf("--part %q: all, region, nats or redis", part)}
			}
			cfg, err := region.Load(config)
			if err != nil {
				return err
			}
			users, err := natsauth.Users(cfg)
			if err != nil {
				return err
			}
			regionSecrets := cfg
			var extra []devstack.Secret
			if part == "all" || part == "nats" {
				extra = append(extra, devstack.JetStreamKey)
				for _, u := range users {
					extra = append(extra, devstack.Secret{Env: u.PasswordEnv, Generate: func() string { return randomText(base64.StdEncoding.EncodeToString) }})
				}
			}
			if part == "all" || part == "redis" {
				extra = append(extra, devstack.Secret{Env: redisPasswordEnv, Generate: func() string { return randomText(hex.EncodeToString) }})
			}
			if part != "all" && part != "region" {
				regionSecrets = nil
			}
			header := []string{
				fmt.Sprintf("Secrets of region %q, kept by `ketenbus keys env --config %s`.", cfg.Region, config),
				"Every process of the region reads the same ones. Load them with:",
				"    set -a; source " + file + "; set +a",
			}
			if format == "env" {
				header = append(header[:1], "Every process of the region reads the same ones: NAME=value lines for",
					"kustomize's secretGenerator, docker --env-file or systemd's EnvironmentFile.")
			}
			header = append(header, "Never commit this file. Deleting it makes new secrets: every pseudonym",
				"changes and the JetStream store can no longer be read.")
			kept, err := devstack.KeepSecrets(regionSecrets, devstack.SecretsFile{
				Path:   file,
				Header: header,
				Extra:  extra,
				Dotenv: format == "env",
			}, os.Getenv)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d secrets, %d generated now\n", file, len(kept.Values), len(kept.Generated))
			return nil
		},
	}
	registerConfig(cmd, &config)
	cmd.Flags().StringVar(&file, "file", "", "the env file that keeps the secrets; created when missing")
	cmd.Flags().StringVar(&part, "part", "all", "which secrets the file keeps: all; region (those the region config names); nats (the NATS passwords and the JetStream key); redis (the Redis password)")
	cmd.Flags().StringVar(&format, "format", "shell", "shell: export lines to source; env: NAME=value lines (kustomize, docker --env-file, systemd)")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	return cmd
}

// randomText encodes 32 random bytes with encode.
func randomText(encode func([]byte) string) string {
	b := make([]byte, region.KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return encode(b)
}

func newKeysGenerateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Print a new random key (field key, pseudonym key, JetStream key)",
		Long: `Generate prints a new key of 32 random bytes in standard base64, the form
every key of the region config takes (pseudonym_key_env, encryption_key_env)
and the JetStream encryption key. Its key id, the one sealed fields name,
goes to standard error.

To rotate the field key, append the new key to the variable that
encryption_key_env names, after a comma, and restart the gateway and the
adapters: new events are sealed with the new key, and events sealed with
the older keys stay readable as long as those stay listed.`,
		Example: `  # a first field key
  export KETENBUS_FIELD_KEY=$(ketenbus keys generate)

  # rotate: keep the old key, add the new one last
  export KETENBUS_FIELD_KEY="$KETENBUS_FIELD_KEY,$(ketenbus keys generate)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := make([]byte, region.KeySize)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			text := base64.StdEncoding.EncodeToString(key)
			if asJSON {
				type generated struct {
					Key   string `json:"key"`
					KeyID string `json:"key_id"`
				}
				return writeJSONLines(cmd.OutOrStdout(), []generated{{text, fieldcrypt.KeyID(key)}})
			}
			fmt.Fprintln(cmd.OutOrStdout(), text)
			fmt.Fprintf(cmd.ErrOrStderr(), "key id %s\n", fieldcrypt.KeyID(key))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"key": …, "key_id": …} on one line`)
	return cmd
}
