package sqlite

import (
	"errors"

	"github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/internal/agcom"
)

// translate maps driver errors onto domain errors by code, never by text.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return &agcom.Error{Code: agcom.EBUSY, Message: "the database is busy; retry shortly"}
		case sqlite3.ErrConstraint:
			if se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
				return &agcom.Error{Code: agcom.ECONFLICT, Message: "already exists"}
			}
		}
	}
	return err
}
