package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// Delivery states.
const (
	DeliveryPending = "pending" // recorded, maybe sent: the send was not confirmed
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // permanently: retrying cannot help
)

// Delivery is one message to one recipient through one channel. Its key is
// derived from the workflow, step and iteration, never the attempt, so a retried
// activity finds the row its earlier attempt wrote.
type Delivery struct {
	Key       string `db:"key"`
	Ref       string `db:"incident_ref"`
	Channel   string `db:"channel"`
	Recipient string `db:"recipient"`
	Status    string `db:"status"`
	Attempts  int    `db:"attempts"`
	Error     string `db:"error"`
	// SentAt is when it went out, once it has.
	SentAt *time.Time `db:"sent_at"`
}

// BeginDelivery records an attempt at d before it is sent and returns the row as
// it now stands: a Status of DeliverySent or DeliveryFailed means an earlier
// attempt finished it and this one must not send again.
func (s *Store) BeginDelivery(ctx context.Context, d Delivery) (Delivery, error) {
	var out Delivery
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO deliveries (key, incident_ref, channel, recipient, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`), d.Key, d.Ref, d.Channel, d.Recipient, DeliveryPending, s.now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE deliveries SET attempts = attempts + 1 WHERE key = ? AND status = ?`), d.Key, DeliveryPending); err != nil {
			return err
		}
		return tx.GetContext(ctx, &out, tx.Rebind(`SELECT key, incident_ref, channel, recipient, status, attempts, error, sent_at FROM deliveries WHERE key = ?`), d.Key)
	})
	return out, wrap(err, "begin delivery")
}

// FinishDelivery marks a delivery sent, or failed for good with the reason.
func (s *Store) FinishDelivery(ctx context.Context, key, status, reason string) error {
	var sentAt any
	if status == DeliverySent {
		sentAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE deliveries SET status = ?, error = ?, sent_at = ? WHERE key = ?`), status, reason, sentAt, key)
	return wrap(err, "finish delivery")
}

// Delivery returns the delivery with the given key.
func (s *Store) Delivery(ctx context.Context, key string) (Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, s.db.Rebind(`SELECT key, incident_ref, channel, recipient, status, attempts, error, sent_at FROM deliveries WHERE key = ?`), key)
	return d, wrap(err, "read delivery")
}

// Deliveries lists an incident's deliveries in the given status, oldest first.
func (s *Store) Deliveries(ctx context.Context, ref, status string) ([]Delivery, error) {
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT key, incident_ref, channel, recipient, status, attempts, error, sent_at
		FROM deliveries WHERE incident_ref = ? AND status = ? ORDER BY created_at, key`), ref, status)
	return out, wrap(err, "list deliveries")
}
