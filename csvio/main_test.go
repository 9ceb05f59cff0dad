package csvio_test

import (
	"os"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
