package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/services/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/region"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Make keys for the region",
	}
	cmd.AddCommand(newKeysGenerateCmd())
	return cmd
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
